/**
 * Which forward node each gradient node differentiates: recorded by the grad transform as
 * it applies each forward node's rule, read by anomaly detection to say "gradient node
 * conv2d_backward_input_12 of forward node conv2d_3". Kept beside the graph (a WeakMap on
 * the frozen node objects, which immer shares between graph versions) so graphs stay
 * plain data and their printouts unchanged.
 */
import type { GraphNode } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"

const origins = new WeakMap<GraphNode, string>()

/** Marks the nodes graph.order[from..] as the gradient of forward node `forwardId`. */
export function markGradientNodes(graph: Graph, from: number, forwardId: string): void {
  for (let i = from; i < graph.order.length; i++) {
    const node = graph.nodes[graph.order[i]]
    if (node !== undefined && !origins.has(node)) origins.set(node, forwardId)
  }
}

/**
 * The forward node whose gradient rule made `node` (or the sum of the gradients arriving
 * at it); undefined for forward nodes and for nodes grad did not make this way.
 *
 * @example
 * gradientOrigin(graph.nodes["conv2d_backward_input_12"]) // "conv2d_3"
 */
export function gradientOrigin(node: GraphNode): string | undefined {
  return origins.get(node)
}
