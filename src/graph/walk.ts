/** Graph walks shared by the grad transform and the executor's planner. */
import type { Graph } from "./builder.ts"

/**
 * Ids of `roots` and of every node they read, directly or not: what must exist (or run)
 * for the roots to be computed. Ids not in the graph are kept but not followed.
 *
 * @example
 * ancestorsOf(graph, [loss.ref.node]).has(w.ref.node) // does the loss read w?
 */
export function ancestorsOf(graph: Graph, roots: readonly string[]): Set<string> {
  const seen = new Set<string>()
  const stack = [...roots]
  while (stack.length > 0) {
    const id = stack.pop()!
    if (seen.has(id)) continue
    seen.add(id)
    const node = graph.nodes[id]
    if (node === undefined) continue
    for (const r of Object.values(node.inputs)) stack.push(r.node)
  }
  return seen
}
