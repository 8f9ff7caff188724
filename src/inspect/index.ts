/**
 * dagrad/inspect: looking inside a run. Max-pool gradient routing (win counts, gradient
 * mass, provenance, tie statistics), window geometry as member lists, and heatmap
 * renderers (ASCII, SVG) that return strings. Browser-safe.
 */
export {
  routingFromIndices,
  inspectRouting,
  maxPoolNodes,
  provenanceOf,
  routingSummary,
  type RoutingMap,
  type InspectOptions,
} from "./routing.ts"
export { heatmapOf, tileHeatmaps, asciiHeatmap, heatmapSvg, type Heatmap, type AsciiOptions, type SvgHeatmapOptions } from "./heatmap.ts"
export { maxPoolWindowList, listWindows, tieSets, resolveMaxPoolKind, isMaxPoolKind, kindDims, tieOf, type MaxPoolKind, type WindowList } from "./windows.ts"
