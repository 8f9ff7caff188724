/**
 * Which nodes the executor runs side by side, one per thread, instead of one after the
 * other each split across the threads: pairs of independent nodes of similar cost, such as
 * a convolution's input and weight gradients or a linear layer's two matmuls in the
 * backward pass. Each half then runs on one thread with no split, no fork-join in its
 * kernels and no duplicated packing, and the two finish at about the same time.
 *
 * Costs come from the ops (`cost`, multiply-adds). A pair needs both nodes to declare one,
 * both to reach MIN_PAIR_COST, the cheaper to be at least half the dearer, one of them to
 * be describable to another thread (offload.ts; at run time the backend must also know its
 * op, or the pair runs in turn), and the later one to depend on nothing
 * computed from the earlier one's position on: it then moves up next to it, which keeps
 * the order topological. Results do not depend on any of this: every kernel computes the
 * same bits whatever the thread count.
 */
import { GraphError } from "../errors.ts"
import { outputSpec, type GraphNode } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import type { AnyOp } from "../graph/op.ts"
import { canDescribe } from "./offload.ts"

/** Below this many multiply-adds a node keeps every thread for its own kernel. */
export const MIN_PAIR_COST = 1 << 19
/** The cheaper node of a pair costs at least this fraction of the dearer. */
const BALANCE = 0.5
/** How many nodes ahead a partner is looked for. */
const LOOKAHEAD = 8

export interface NodePairs {
  /** The order with each pair's second node moved up right after its first. */
  readonly order: string[]
  /** The first node of each pair. */
  readonly first: ReadonlySet<string>
}

/**
 * The pairs of `ordered` (a topological order of op and leaf nodes), see the header.
 * `gates` maps a node to one more it reads (a fused activation's gate, outside its inputs).
 */
export function pairIndependentNodes(
  graph: Graph,
  ordered: readonly string[],
  ops: ReadonlyMap<string, AnyOp | undefined>,
  gates: ReadonlyMap<string, string> = new Map(),
): NodePairs {
  const order = [...ordered]
  const first = new Set<string>()
  const cost = new Map(order.map((id) => [id, nodeCost(graph.nodes[id], ops.get(id), graph)]))
  for (let i = 0; i < order.length; i++) {
    const a = order[i]
    const costA = cost.get(a)!
    if (costA < MIN_PAIR_COST) continue
    const skipped = new Set<string>()
    for (let j = i + 1; j < order.length && j <= i + LOOKAHEAD; j++) {
      const b = order[j]
      const costB = cost.get(b)!
      const reads = [...Object.values(graph.nodes[b].inputs).map((r) => r.node), ...(gates.has(b) ? [gates.get(b)!] : [])]
      const independent = reads.every((n) => n !== a && !skipped.has(n))
      // leaves (feeds, parameters) are there from the start: b may move above them
      if (graph.nodes[b].kind === "op") skipped.add(b)
      if (!independent || costB < MIN_PAIR_COST || Math.min(costA, costB) < BALANCE * Math.max(costA, costB)) continue
      if (!offloadable(graph.nodes[a], ops.get(a)) && !offloadable(graph.nodes[b], ops.get(b))) continue
      // b's leaves that came after a move up before a (a leaf step is what enters a feed)
      const lifted = order.slice(i + 1, j).filter((n) => reads.includes(n))
      const rest = order.slice(i + 1, j).filter((n) => !lifted.includes(n))
      order.splice(i, j - i + 1, ...lifted, a, b, ...rest)
      first.add(a)
      i += lifted.length + 1
      break
    }
  }
  return { order, first }
}

/** True when `node` may run on another thread (offload.ts). */
export function offloadable(node: GraphNode, op: AnyOp | undefined): boolean {
  return node.kind === "op" && op !== undefined && canDescribe(node.attrs)
}

/** The op's cost for the node's shapes (0 for leaves and ops without one). */
function nodeCost(node: GraphNode, op: AnyOp | undefined, graph: Graph): number {
  if (node.kind !== "op" || op?.cost === undefined) return 0
  const inputs = Object.fromEntries(Object.entries(node.inputs).map(([name, r]) => [name, outputSpec(graph, r)!]))
  const outputs = Object.fromEntries(node.outputs.map((o) => [o.name, o]))
  const c = op.cost(inputs as never, outputs as never, node.attrs as never)
  if (typeof c !== "number" || !(c >= 0) || c === Infinity) {
    throw new GraphError(`op ${op.name}'s cost returned ${String(c)} (expected a finite number >= 0 of multiply-adds)`, { node: node.id, op: op.name })
  }
  return c
}
