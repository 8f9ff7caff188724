/**
 * Gradient-routing inspection of max pooling: where does each max-pool node send its
 * gradient? From a run (graph + feeds + params) or from saved `indices` tensors:
 *
 *   win counts   per input element, how many windows chose it as their argmax (the number
 *                of upstream values it receives under tie "first"/"last")
 *   mass         per input element, the gradient it receives for an all-ones upstream,
 *                through the node's own gradient rule (fractional under "split", every
 *                tied element under "all")
 *   provenance   per output cell, the input coordinate its value (and gradient) came from
 *   ties         how many windows hold a tied maximum
 *
 * Browser-safe: no Node modules; renderers in ./heatmap.ts build plain strings.
 */
import { gradValues } from "../autodiff/grad.ts"
import { GraphError, ShapeError, showShape } from "../errors.ts"
import { compile, type ParamStore } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import type { GraphNode } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import type { AnyOp } from "../graph/op.ts"
import { sum } from "../ops/reduce/index.ts"
import { lookupOp, type Registry } from "../graph/registry.ts"
import type { TiePolicy } from "../ops/pool/geometry.ts"
import { sizeOf, stridesOf, type Shape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { kindDims, maxPoolWindowList, resolveMaxPoolKind, tieOf, tieSets, type MaxPoolKind } from "./windows.ts"

/** The routing of one max-pool node in one run. */
export interface RoutingMap {
  /** Node id (or a label, for maps made from bare indices). */
  readonly node: string
  readonly op: string
  readonly tie: TiePolicy
  /** Number of spatial dims. */
  readonly dims: number
  readonly inputShape: readonly number[]
  readonly outputShape: readonly number[]
  /** int32, input-shaped: windows whose saved argmax is this element. */
  readonly winCounts: Tensor
  /** int32, output-shaped: flat in-plane input index each output cell came from (-1: none). */
  readonly provenance: Tensor
  /** float64, input-shaped: gradient received for an all-ones upstream (runs only). */
  readonly mass?: Tensor
  /** Windows in total and windows whose maximum is tied (runs only, exact ties). */
  readonly windows?: number
  readonly tiedWindows?: number
  /** Tied windows whose maximum is exactly 0 (after a ReLU: the whole window was cut off). */
  readonly tiedZeroWindows?: number
}

/**
 * A routing map from a max pool's saved `indices` (int32, flat per (n, c) plane, PyTorch's)
 * and the pooled input's shape.
 *
 * @example
 * const m = routingFromIndices(tensor([1, 2], [1, 1, 2], "int32"), [1, 1, 4])
 * [...m.winCounts.data] // [0, 1, 1, 0]
 */
export function routingFromIndices(indices: Tensor, inputShape: Shape, info: { node?: string; op?: string; tie?: TiePolicy } = {}): RoutingMap {
  if (indices.dtype !== "int32") throw new ShapeError(`indices are ${indices.dtype} (expected int32 max-pool indices)`)
  const dims = indices.shape.length - (indices.shape.length >= 3 ? 2 : 1)
  const lead = indices.shape.slice(0, indices.shape.length - dims)
  if (inputShape.length !== indices.shape.length || lead.some((d, i) => d !== inputShape[i])) {
    throw new ShapeError(`indices ${showShape(indices.shape)} do not match input ${showShape(inputShape)} (expected the same leading (N, C) dims and rank)`)
  }
  const inPlane = sizeOf(inputShape.slice(inputShape.length - dims))
  const outPlane = sizeOf(indices.shape.slice(indices.shape.length - dims))
  const planes = sizeOf(lead)
  const counts = new Int32Array(sizeOf(inputShape))
  for (let p = 0; p < planes; p++) {
    for (let o = 0; o < outPlane; o++) {
      const i = indices.data[p * outPlane + o]
      if (i < 0) continue
      if (i >= inPlane) throw new ShapeError(`indices[${p * outPlane + o}] = ${i} is outside the input plane of ${inPlane} elements`)
      counts[p * inPlane + i]++
    }
  }
  return {
    node: info.node ?? "indices",
    op: info.op ?? `max_pool${dims}d`,
    tie: info.tie ?? "first",
    dims,
    inputShape: [...inputShape],
    outputShape: [...indices.shape],
    winCounts: { shape: [...inputShape], dtype: "int32", data: counts },
    provenance: indices,
  }
}

/**
 * The max-pool nodes of a graph (forward ones), in graph order.
 *
 * @example
 * maxPoolNodes(buildModelGraph(lenet5(), { batchSize: 1 }).builder.graph).map((n) => n.id) // ["max_pool2d_2", "max_pool2d_5"]
 */
export function maxPoolNodes(graph: Graph, treatAs: { readonly [op: string]: MaxPoolKind } = {}): GraphNode[] {
  return graph.order.map((id) => graph.nodes[id]).filter((n) => n.kind === "op" && n.role === "forward" && resolveMaxPoolKind(n.op, treatAs) !== undefined)
}

/** Options of {@link inspectRouting}: which nodes, custom max-pool-like ops, and whether to skip the gradient-mass pass. */
export interface InspectOptions {
  /** Only these node ids (default every max-pool node). */
  readonly nodes?: readonly string[]
  /** Custom ops with a max-pool geometry. */
  readonly treatAs?: { readonly [op: string]: MaxPoolKind }
  /** Skip the all-ones gradient (mass). Default false. */
  readonly skipMass?: boolean
}

/**
 * Runs a graph and returns the routing map of every max-pool node: its argmax indices
 * (the optional `indices` output, fetched here even in an inference graph), its input,
 * the tie statistics of its windows and the mass its gradient rule routes.
 *
 * @example
 * const g = buildModelGraph(lenet5(), { batchSize: 1 })
 * const maps = inspectRouting(g.builder.graph, { x: digit }, params)
 * console.log(asciiHeatmap(heatmapOf(maps[0].winCounts, [0, 0])))
 */
export function inspectRouting(graph: Graph, feeds: { readonly [name: string]: Tensor }, params: ParamStore = new Map(), options: InspectOptions = {}): RoutingMap[] {
  const nodes = maxPoolNodes(graph, options.treatAs).filter((n) => options.nodes === undefined || options.nodes.includes(n.id))
  if (options.nodes !== undefined) {
    const missing = options.nodes.filter((id) => !nodes.some((n) => n.id === id))
    if (missing.length > 0) throw new GraphError(`no max-pool node ${missing.join(", ")} (expected one of ${maxPoolNodes(graph, options.treatAs).map((n) => n.id).join(", ") || "none"})`)
  }
  for (const n of nodes) {
    if (!n.outputs.some((o) => o.name === "indices")) throw new GraphError(`node '${n.id}' (${n.op}) has no 'indices' output (expected a max pool with saved argmax)`)
  }
  const fetches = nodes.flatMap((n) => [{ node: n.id, output: "indices" }, n.inputs.x])
  const out = compile(graph, fetches).run(feeds, params)
  return nodes.map((n, k) => {
    const indices = out[2 * k]
    const x = out[2 * k + 1]
    const kind = resolveMaxPoolKind(n.op, options.treatAs)!
    const base = routingFromIndices(indices, x.shape, { node: n.id, op: n.op, tie: tieOf(n.attrs) })
    const windows = maxPoolWindowList(kind, n.attrs, x.shape)
    const tied = tieSets(x.data, windows).filter((T) => T.length > 1)
    const tiedWindows = tied.length
    const tiedZeroWindows = tied.filter((T) => x.data[T[0]] === 0).length
    const mass = options.skipMass ? undefined : onesGradient(graph.registry, n, x)
    return { ...base, dims: kindDims(kind), windows: windows.count, tiedWindows, tiedZeroWindows, ...(mass ? { mass } : {}) }
  })
}

/** d/dx sum(op(x)): the gradient each input element receives for an all-ones upstream. */
function onesGradient(registry: Registry, node: GraphNode, x: Tensor): Tensor {
  const b = new GraphBuilder({ dtype: "float64", registry })
  const xv = b.input("x", x.shape)
  const apply = b.apply as (o: AnyOp, i: { readonly [k: string]: Value }, a: unknown) => { [k: string]: Value }
  const y = apply.call(b, lookupOp(registry, node.op, node.id), { x: xv }, node.attrs).y
  const [g] = gradValues(b, sum(y), [xv])
  return compile(b.graph, [g]).run({ x: { shape: x.shape, dtype: "float64", data: Float64Array.from(x.data) } })[0]
}

/**
 * The input coordinate (full index, planes included) that output cell `outputCoords` of a
 * routing map came from, or undefined where the window had no element (index -1).
 *
 * @example
 * provenanceOf(map, [0, 0, 1, 1]) // e.g. [0, 0, 3, 2]
 */
export function provenanceOf(map: RoutingMap, outputCoords: readonly number[]): number[] | undefined {
  const strides = stridesOf(map.outputShape)
  if (outputCoords.length !== map.outputShape.length || outputCoords.some((c, d) => c < 0 || c >= map.outputShape[d])) {
    throw new ShapeError(`output coordinates [${outputCoords.join(", ")}] are outside ${showShape(map.outputShape)}`)
  }
  const flat = outputCoords.reduce((a, c, d) => a + c * strides[d], 0)
  const i = map.provenance.data[flat]
  if (i < 0) return undefined
  const spatial = map.inputShape.slice(map.inputShape.length - map.dims)
  const sStrides = stridesOf(spatial)
  return [...outputCoords.slice(0, outputCoords.length - map.dims), ...sStrides.map((s, d) => Math.floor(i / s) % spatial[d])]
}

/** Summary numbers of a routing map, for tables. */
export function routingSummary(map: RoutingMap): { maxWins: number; neverChosen: number; elements: number; tiedFraction: number | undefined } {
  let maxWins = 0
  let never = 0
  for (const c of map.winCounts.data) {
    if (c > maxWins) maxWins = c
    if (c === 0) never++
  }
  const tiedFraction = map.windows === undefined || map.tiedWindows === undefined ? undefined : map.tiedWindows / Math.max(1, map.windows)
  return { maxWins, neverChosen: never, elements: map.winCounts.data.length, tiedFraction }
}
