import { DagradError, GraphError, ShapeError, showShape } from "../errors.ts"
import { GraphBuilder, Value } from "../graph/builder.ts"
import { refKey, type OutputRef } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import { inputNames, type AnyOp } from "../graph/op.ts"
import { lookupOp } from "../graph/registry.ts"
import { full } from "../graph/constant.ts"
import { ancestorsOf } from "../graph/walk.ts"
import { accumulate } from "./accumulate.ts"
import { sameShape } from "../tensor/shape.ts"
import { markGradientNodes } from "./origins.ts"

/** Options of {@link grad} and {@link gradValues}. */
export interface GradOptions {
  /**
   * The gradient arriving at `loss` (a vector-Jacobian product). Default: the scalar 1,
   * which requires `loss` to be a scalar.
   */
  readonly seed?: Value
}

/**
 * Reverse-mode autodiff as a graph transform on a builder: appends gradient nodes for
 * d loss / d each of `wrt` and returns them as values of the same builder, so they can be
 * fetched, printed, or differentiated again (double backward).
 *
 * Walks the forward nodes in reverse topological order; each op's gradient rule builds
 * the nodes of its vector-Jacobian product; contributions to an output used in several
 * places (fan-out) are summed; nodes the rules built that no requested gradient needs are
 * pruned. A `wrt` that the loss does not depend on gets a zero gradient.
 */
export function gradValues(builder: GraphBuilder, loss: Value, wrt: readonly Value[], options: GradOptions = {}): Value[] {
  const graph = builder.graph
  checkRequest(builder, loss, wrt, options)
  const before = new Set(graph.order)

  const lossAncestors = ancestorsOf(graph, [loss.ref.node])
  const wrtNodes = new Set(wrt.map((v) => v.ref.node))
  const dependsOnWrt = new Set<string>()
  for (const id of graph.order) {
    const node = graph.nodes[id]
    if (wrtNodes.has(id) || Object.values(node.inputs).some((r) => dependsOnWrt.has(r.node))) dependsOnWrt.add(id)
  }

  const contributions = new Map<string, Value[]>()
  const contribute = (ref: OutputRef, g: Value): void => {
    const key = refKey(ref)
    const list = contributions.get(key)
    if (list) list.push(g)
    else contributions.set(key, [g])
  }

  const previousRole = builder.role
  builder.role = "gradient"
  try {
    contribute(loss.ref, options.seed ?? full(builder, [], 1))
    for (let i = graph.order.length - 1; i >= 0; i--) {
      const id = graph.order[i]
      const node = graph.nodes[id]
      if (node.kind !== "op" || !lossAncestors.has(id) || !dependsOnWrt.has(id)) continue
      const firstNew = builder.graph.order.length
      const outputGrads: { [name: string]: Value } = {}
      let any = false
      for (const out of node.outputs) {
        const list = contributions.get(refKey({ node: id, output: out.name }))
        if (list === undefined) continue
        outputGrads[out.name] = accumulate(list)
        any = true
      }
      if (!any) continue
      applyRule(builder, lookupOp(graph.registry, node.op, id), id, outputGrads, dependsOnWrt, contribute)
      markGradientNodes(builder.graph, firstNew, id)
    }
    const results = wrt.map((v) => {
      const list = contributions.get(refKey(v.ref))
      return list === undefined ? full(builder, v.shape, 0) : accumulate(list)
    })
    pruneUnused(builder, before, results)
    return results.map((r) => builder.value(r.ref))
  } finally {
    builder.role = previousRole
  }
}

/**
 * `grad(graph, loss, wrt)`: a NEW graph holding the forward nodes and the gradient
 * nodes, and a reference to each requested gradient in it. The input graph is unchanged.
 *
 * @example
 * const { graph: withGrads, grads } = grad(g.graph, loss.ref, [w.ref])
 * const [dw] = compile(withGrads, grads).run({ x }, params)
 */
export function grad(
  graph: Graph,
  loss: OutputRef,
  wrt: readonly OutputRef[],
  options: { readonly seed?: OutputRef } = {},
): { graph: Graph; grads: OutputRef[] } {
  const b = GraphBuilder.from(graph)
  const seed = options.seed === undefined ? undefined : b.value(options.seed)
  const grads = gradValues(
    b,
    b.value(loss),
    wrt.map((r) => b.value(r)),
    { seed },
  )
  return { graph: b.graph, grads: grads.map((g) => g.ref) }
}

function checkRequest(builder: GraphBuilder, loss: Value, wrt: readonly Value[], options: GradOptions): void {
  const context = { node: loss.ref.node, op: loss.node.op }
  if (loss.builder !== builder || wrt.some((v) => v.builder !== builder)) {
    throw new GraphError("grad: loss and wrt must be values of the same graph builder", context)
  }
  if (loss.dtype === "int32") throw new GraphError("grad: the loss is int32 (expected a float tensor)", context)
  for (const v of wrt) {
    if (v.dtype === "int32") throw new GraphError(`grad: cannot differentiate with respect to int32 value ${v} (expected a float value)`, context)
  }
  if (options.seed === undefined && loss.shape.length !== 0) {
    throw new ShapeError(
      `grad: the loss has shape ${showShape(loss.shape)} (expected a scalar []; reduce it with sum() or mean(), or pass a seed of the loss's shape)`,
      context,
    )
  }
  if (options.seed !== undefined && !sameShape(options.seed.shape, loss.shape)) {
    throw new ShapeError(`grad: seed shape ${showShape(options.seed.shape)} differs from the loss shape ${showShape(loss.shape)}`, context)
  }
}

function applyRule(
  builder: GraphBuilder,
  op: AnyOp,
  id: string,
  outputGrads: { [name: string]: Value },
  dependsOnWrt: ReadonlySet<string>,
  contribute: (ref: OutputRef, g: Value) => void,
): void {
  const node = builder.graph.nodes[id]
  const inputs: { [name: string]: Value } = {}
  for (const [name, ref] of Object.entries(node.inputs)) inputs[name] = builder.value(ref)
  const needs = (name: string): boolean => {
    const v = inputs[name]
    return v !== undefined && v.dtype !== "int32" && dependsOnWrt.has(v.ref.node)
  }
  const wanted = inputNames(op).filter(needs)
  if (wanted.length === 0) return
  const context = { node: id, op: op.name, inputs: Object.entries(inputs).map(([n, v]) => `${n}: ${showShape(v.shape)} ${v.dtype}`) }
  if (op.grad === undefined) {
    throw new GraphError(`op ${op.name} has no gradient rule (needed for input ${wanted.join(", ")})`, context)
  }
  const outputs: { [name: string]: Value } = {}
  for (const o of node.outputs) outputs[o.name] = builder.value({ node: id, output: o.name })
  let result: { readonly [name: string]: Value | undefined }
  try {
    result = op.grad({ inputs, outputs, grads: outputGrads, attrs: node.attrs, builder, needsGrad: needs })
  } catch (e) {
    if (e instanceof DagradError) throw e.withContext(context)
    throw new GraphError(`gradient rule failed: ${e instanceof Error ? e.message : String(e)}`, context, { cause: e })
  }
  for (const name of wanted) {
    const g = result[name]
    if (g === undefined) continue
    const x = inputs[name]
    if (!(g instanceof Value) || g.builder !== builder) {
      throw new GraphError(`gradient rule returned a non-value for input '${name}'`, context)
    }
    if (!sameShape(g.shape, x.shape) || g.dtype !== x.dtype) {
      throw new ShapeError(
        `gradient rule returned ${showShape(g.shape)} ${g.dtype} for input '${name}' (expected its shape ${showShape(x.shape)} ${x.dtype})`,
        context,
      )
    }
    contribute(x.ref, g)
  }
}

function pruneUnused(builder: GraphBuilder, before: ReadonlySet<string>, results: readonly Value[]): void {
  const keep = ancestorsOf(builder.graph, results.map((r) => r.ref.node))
  const dead = new Set(builder.graph.order.filter((id) => !before.has(id) && !keep.has(id)))
  builder.removeNodes(dead)
}
