/**
 * Anomaly detection, PyTorch's `torch.autograd.detect_anomaly` for a graph executor: with
 * `plan.run(feeds, params, { detectAnomaly: true })` every node's outputs are scanned right
 * after its kernel, and the first non-finite value (NaN, +Infinity, -Infinity) stops the run
 * with an AnomalyError naming the node, its op, whether it is a forward or a gradient node
 * (and for a gradient node the forward node it differentiates), and each input's range.
 * Off by default; when off, the executor pays one boolean test per node.
 */
import { gradientOrigin } from "../autodiff/origins.ts"
import { AnomalyError, showShape } from "../errors.ts"
import { refKey, type GraphNode } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** Throws an AnomalyError when an output of `node` present in `values` is not finite. */
export function checkAnomaly(graph: Graph, node: GraphNode, values: ReadonlyMap<string, Tensor>): void {
  for (const spec of node.outputs) {
    if (spec.dtype === "int32") continue
    const t = values.get(refKey({ node: node.id, output: spec.name }))
    if (t === undefined) continue
    const bad = firstNonFinite(t.data)
    if (bad >= 0) throw anomaly(graph, node, spec.name, t, bad, values)
  }
}

/** Index of the first NaN or infinity, or -1. */
function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    // v - v is NaN exactly for NaN and ±Infinity: one subtraction, no call
    if (v - v !== 0) return i
  }
  return -1
}

/** "in [min, max]" over the finite values, plus counts of NaN and infinities. */
export function describeRange(data: ArrayLike<number>): string {
  let min = Infinity
  let max = -Infinity
  let nan = 0
  let inf = 0
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (Number.isNaN(v)) nan++
    else if (!Number.isFinite(v)) inf++
    else {
      if (v < min) min = v
      if (v > max) max = v
    }
  }
  const parts = [data.length === 0 ? "empty" : nan + inf === data.length ? "no finite values" : `in [${min}, ${max}]`]
  if (nan > 0) parts.push(`${nan} NaN`)
  if (inf > 0) parts.push(`${inf} infinite`)
  return parts.join(", ")
}

function anomaly(graph: Graph, node: GraphNode, output: string, t: Tensor, index: number, values: ReadonlyMap<string, Tensor>): AnomalyError {
  const role = node.kind !== "op" ? (node.kind === "input" ? "feed" : "parameter") : node.role === "gradient" ? "gradient node" : "forward node"
  const origin = gradientOrigin(node)
  const forward = origin === undefined ? "" : ` differentiating forward node '${origin}' (op ${graph.nodes[origin]?.op ?? "?"})`
  const inputs = Object.entries(node.inputs).map(([name, r]) => {
    const v = values.get(refKey(r))
    return v === undefined ? `${name}: (not available)` : `${name} ${showShape(v.shape)} ${describeRange(v.data)}`
  })
  const value = t.data[index]
  const where = t.shape.length === 0 ? "" : ` at flat index ${index}`
  return new AnomalyError(
    `anomaly detected in ${role} '${node.id}'${forward}: output '${output}' ${showShape(t.shape)} ${t.dtype} holds ${value}${where} (expected finite values; ` +
      `inputs: ${inputs.length === 0 ? "none" : inputs.join("; ")})`,
    { node: node.id, op: node.op },
  )
}
