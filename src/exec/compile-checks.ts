/**
 * What compile checks about each node before a plan exists: graphs are plain data and may
 * be assembled or edited by hand (or deserialised), so the checks the builder made when a
 * node was added are made again here — attrs re-validated by the op's own validator,
 * shapes re-inferred and compared with the stored ones — and every tensor the plan would
 * allocate must fit in a typed array. Each failure names the node and its op.
 */
import { AttrError, DagradError, GraphError, ShapeError, showShape, type ErrorContext } from "../errors.ts"
import type { Attrs, GraphNode, TensorSpec } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import type { AnyOp } from "../graph/op.ts"
import { sizeOf } from "../tensor/shape.ts"

/**
 * The most elements one tensor may hold: 2^31 - 1, the int32 range the kernels' index
 * arithmetic and int32 index outputs (argmax) assume. Larger tensors are a ShapeError at
 * compile time instead of a bare RangeError deep in an allocation.
 */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1

/** Re-checks every node a plan will run (ids in order); throws a DagradError naming the node. */
export function checkNodesForPlan(graph: Graph, ids: readonly string[], ops: ReadonlyMap<string, AnyOp | undefined>): void {
  for (const id of ids) {
    const node = graph.nodes[id]
    const op = ops.get(id)
    const context: ErrorContext = { node: id, op: node.op, inputs: inputSpecs(graph, node).map(([n, s]) => `${n}: ${showShape(s.shape)} ${s.dtype}`) }
    if (op !== undefined) checkOpNode(graph, node, op, context)
    for (const spec of node.outputs) {
      const n = sizeOf(spec.shape)
      if (n > MAX_TENSOR_ELEMENTS) {
        throw new ShapeError(
          `output '${spec.name}' ${showShape(spec.shape)} ${spec.dtype} would hold ${n.toExponential(3)} elements (expected at most ${MAX_TENSOR_ELEMENTS} per tensor)`,
          context,
        )
      }
    }
  }
}

function inputSpecs(graph: Graph, node: GraphNode): [string, TensorSpec][] {
  // references were checked by topologicalOrder before this runs
  return Object.entries(node.inputs).map(([name, r]) => [name, graph.nodes[r.node].outputs.find((o) => o.name === r.output)!])
}

/** Attrs through the op's validator, then inference compared with the stored outputs. */
function checkOpNode(graph: Graph, node: GraphNode, op: AnyOp, context: ErrorContext): void {
  let attrs: Attrs = node.attrs
  if (op.attrs !== undefined) {
    try {
      // The validator is given the stored (already resolved) attrs: resolution is
      // idempotent for every built-in op, so a graph made by the builder passes unchanged.
      attrs = (op.attrs as (raw: unknown) => Attrs)(node.attrs)
    } catch (e) {
      throw contextual(e, context, AttrError, "stored attrs fail the op's validation")
    }
  }
  let inferred: { readonly [k: string]: TensorSpec }
  try {
    inferred = op.infer(Object.fromEntries(inputSpecs(graph, node)), attrs, { dtype: graph.dtype })
  } catch (e) {
    throw contextual(e, context, ShapeError, "stored inputs fail the op's shape inference")
  }
  for (const spec of node.outputs) {
    const want = inferred[spec.name]
    if (want === undefined || want.dtype !== spec.dtype || want.shape.length !== spec.shape.length || want.shape.some((d, i) => d !== spec.shape[i])) {
      throw new GraphError(
        `stored output '${spec.name}' is ${showShape(spec.shape)} ${spec.dtype} but the op infers ${want === undefined ? "no such output" : `${showShape(want.shape)} ${want.dtype}`} (expected the graph as the builder made it; was it edited by hand?)`,
        context,
      )
    }
  }
}

function contextual(e: unknown, context: ErrorContext, Fallback: typeof AttrError | typeof ShapeError, what: string): DagradError {
  if (e instanceof DagradError) return e.withContext(context)
  return new Fallback(`${what}: ${e instanceof Error ? e.message : String(e)}`, context, { cause: e })
}
