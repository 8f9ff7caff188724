/**
 * Epilogue nodes the executor runs inside the kernel of the op before them (a conv2d and
 * the relu on its output; a max_pool2d_backward and the relu_backward of the gradient it
 * produces). Ops declare both sides: the epilogue op its `epilogue` input (and mask), the
 * producer the epilogues its kernel can apply (`activations`); the executor names no op.
 * The graph does not change: the plan decides, and the epilogue node's output then shares
 * its producer's buffer.
 */
import type { OutputRef } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import { refKey } from "../graph/types.ts"
import type { Activation, AnyOp } from "../graph/op.ts"

/**
 * Which epilogue nodes fold into their producer: an op declaring `epilogue` (relu,
 * relu_backward) whose epilogue input is output y of an op listing its name in
 * `activations`, when the epilogue node is y's only reader and y is not fetched (then nothing can observe y
 * before activation). A gating input (relu_backward's x) must be computed before the
 * producer runs; it stays alive until the activation node's place in the order, as before.
 */
export function fusedActivations(
  graph: Graph,
  ordered: readonly string[],
  ops: ReadonlyMap<string, AnyOp | undefined>,
  fetched: ReadonlySet<string>,
): {
  /** Producer -> the activation its kernel applies, and the gate it reads (an output of an earlier node). */
  activation: Map<string, { activation: Activation; mask?: OutputRef }>
  aliasOf: Map<string, string>
  producer: Map<string, string>
  absorbed: Set<string>
} {
  const readers = new Map<string, number>()
  for (const id of ordered) for (const r of Object.values(graph.nodes[id].inputs)) readers.set(refKey(r), (readers.get(refKey(r)) ?? 0) + 1)
  const position = new Map(ordered.map((id, i) => [id, i]))
  const activation = new Map<string, { activation: Activation; mask?: OutputRef }>()
  const aliasOf = new Map<string, string>()
  const producer = new Map<string, string>()
  const absorbed = new Set<string>()
  for (const id of ordered) {
    const node = graph.nodes[id]
    const op = ops.get(id)
    const fusable = op?.epilogue
    if (op === undefined || fusable === undefined) continue
    const input = node.inputs[fusable.input]
    if (input === undefined || input.output !== "y") continue
    const key = refKey(input)
    const maskRef = fusable.mask === undefined ? undefined : node.inputs[fusable.mask]
    if (fusable.mask !== undefined && (maskRef === undefined || position.get(maskRef.node)! >= position.get(input.node)!)) continue
    const act = op.name
    if (ops.get(input.node)?.activations?.includes(act) !== true || readers.get(key) !== 1 || fetched.has(key) || activation.has(input.node)) continue
    activation.set(input.node, { activation: act, mask: maskRef })
    aliasOf.set(id, key)
    producer.set(id, input.node)
    absorbed.add(key)
  }
  return { activation, aliasOf, producer, absorbed }
}
