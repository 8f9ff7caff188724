/**
 * The executor's checks of what a caller hands it: feeds and parameters are validated as
 * tensors (typed-array class = dtype, length = shape, the spec the graph declares) and
 * the run arguments themselves are the right kind of container. Kept apart from plan.ts
 * so the executor's control flow stays short.
 */
import { DagradError, FeedError, KernelError, showShape } from "../errors.ts"
import type { GraphNode } from "../graph/types.ts"
import { sameShape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { tensorProblem } from "../tensor/validate.ts"

/**
 * The tensor fed for an input node or stored for a parameter node, checked against the
 * node's spec; throws a FeedError naming the feed or parameter.
 */
export function checkLeaf(node: GraphNode, t: Tensor | undefined | null, what: "feed" | "parameter"): Tensor {
  const spec = node.outputs[0]
  const expected = `${showShape(spec.shape)} ${spec.dtype}`
  const context = { node: node.id, op: node.kind }
  if (t === undefined || t === null) {
    const given = t === null ? " (got null)" : ""
    throw new FeedError(
      what === "feed"
        ? `missing feed for input '${node.id}'${given} (expected a tensor ${expected})`
        : `parameter '${node.id}' is not in the parameter store${given} (expected ${expected})`,
      context,
    )
  }
  if (typeof t !== "object") throw new FeedError(`${what} '${node.id}' is a ${typeof t} (expected a tensor ${expected})`, context)
  if (t.dtype !== spec.dtype) throw new FeedError(`${what} '${node.id}' has dtype ${String(t.dtype)} (expected ${expected})`, context)
  if (!Array.isArray(t.shape) || !sameShape(t.shape, spec.shape)) {
    throw new FeedError(`${what} '${node.id}' has shape ${Array.isArray(t.shape) ? showShape(t.shape) : String(t.shape)} (expected ${expected})`, context)
  }
  const problem = tensorProblem(t)
  if (problem !== undefined) throw new FeedError(`${what} '${node.id}': ${problem} (expected ${expected})`, context)
  return t
}

/** Throws a FeedError unless feeds is an object of tensors and params a Map-like store. */
export function checkRunArguments(feeds: unknown, params: unknown): void {
  if (feeds === null || typeof feeds !== "object") throw new FeedError(`feeds is ${feeds === null ? "null" : typeof feeds} (expected an object { inputName: tensor })`)
  if (params === null || typeof params !== "object" || typeof (params as { get?: unknown }).get !== "function") {
    throw new FeedError(`the parameter store is ${params === null ? "null" : typeof params} without get() (expected a Map from parameter name to tensor)`)
  }
}

/** An output buffer the executor could not allocate (out of memory), with the node named. */
export function allocationError(node: GraphNode, e: unknown): DagradError {
  if (e instanceof DagradError) return e
  const outputs = node.outputs.map((o) => `${o.name} ${showShape(o.shape)} ${o.dtype}`).join(", ")
  return new KernelError(`could not allocate the outputs (${outputs}): ${e instanceof Error ? e.message : String(e)}`, { node: node.id, op: node.op }, { cause: e })
}
