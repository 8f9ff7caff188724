import { showShape } from "../errors.ts"
import { outputSpec, type Attrs, type GraphNode } from "./types.ts"
import type { Graph } from "./builder.ts"

function showAttrs(attrs: Attrs): string {
  const entries = Object.entries(attrs)
  if (entries.length === 0) return ""
  return " {" + entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ") + "}"
}

function showOutputs(node: GraphNode): string {
  return node.outputs.map((o) => `${o.name}: ${showShape(o.shape)} ${o.dtype}`).join(", ")
}

/**
 * One line per node, in topological order: `id = op(input=node:output, ...) {attrs} -> outputs`.
 * Gradient nodes appended by `grad` are marked `[grad]`.
 *
 * @example
 * console.log(formatGraph(grad(g.graph, loss.ref, [w.ref]).graph))
 */
export function formatGraph(graph: Graph): string {
  const lines: string[] = []
  for (const id of graph.order) {
    const node = graph.nodes[id]
    const role = node.role === "gradient" ? " [grad]" : ""
    if (node.kind !== "op") {
      lines.push(`${id} = ${node.kind}()${role} -> ${showOutputs(node)}`)
      continue
    }
    const args = Object.entries(node.inputs)
      .map(([name, r]) => `${name}=${r.node}:${r.output}`)
      .join(", ")
    lines.push(`${id} = ${node.op}(${args})${showAttrs(node.attrs)}${role} -> ${showOutputs(node)}`)
  }
  return lines.join("\n")
}

function dotId(s: string): string {
  return JSON.stringify(s)
}

/**
 * Graphviz DOT: boxes for ops (gradient nodes shaded), ellipses for inputs, and edges
 * labelled `output -> input` with the tensor shape, so a saved argmax feeding a backward
 * node is visible as an edge labelled `indices -> indices`.
 */
export function toDot(graph: Graph): string {
  const lines = ["digraph dagrad {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
  for (const id of graph.order) {
    const node = graph.nodes[id]
    const shape = node.kind === "op" ? "box" : node.kind === "param" ? "box3d" : "ellipse"
    const fill = node.role === "gradient" ? ', style=filled, fillcolor="#f3e0c0"' : ""
    const label = node.kind === "op" ? `${id}\\n${node.op}` : `${id}\\n${node.kind} ${showShape(node.outputs[0].shape)}`
    lines.push(`  ${dotId(id)} [shape=${shape}, label=${dotId(label).replace(/\\\\n/g, "\\n")}${fill}];`)
  }
  for (const id of graph.order) {
    const node = graph.nodes[id]
    for (const [name, r] of Object.entries(node.inputs)) {
      const spec = outputSpec(graph, r)
      const label = `${r.output} -> ${name}${spec ? " " + showShape(spec.shape) : ""}`
      lines.push(`  ${dotId(r.node)} -> ${dotId(id)} [label=${dotId(label)}];`)
    }
  }
  lines.push("}")
  return lines.join("\n")
}
