/**
 * dagrad/inspect: looking inside a run. Max-pool gradient routing (win counts, gradient
 * mass, provenance, tie statistics), window geometry as member lists, and heatmap
 * renderers (ASCII, SVG) that return strings. Browser-safe. The same tools are part of
 * dagrad/research, the pooling-backprop toolkit, where they live.
 *
 * @module dagrad/inspect
 */
export {
  routingFromIndices,
  inspectRouting,
  maxPoolNodes,
  provenanceOf,
  routingSummary,
  type RoutingMap,
  type InspectOptions,
} from "../research/routing.ts"
export { heatmapOf, tileHeatmaps, asciiHeatmap, heatmapSvg, type Heatmap, type AsciiOptions, type SvgHeatmapOptions } from "../research/heatmap.ts"
export { maxPoolWindowList, listWindows, tieSets, resolveMaxPoolKind, isMaxPoolKind, kindDims, tieOf, type MaxPoolKind, type WindowList } from "../research/windows.ts"
export type { Windows, WindowAxis } from "../kernels/pool/windows.ts"
