/**
 * dagrad/research: the pooling-backprop toolkit. The tie-aware gradient checker and its
 * rules (Clarke subdifferential, directional derivatives, nudging, the feasibility LP),
 * max-pool gradient routing (win counts, gradient mass, provenance, tie statistics),
 * window geometry as member lists, and heatmap renderers (ASCII, SVG) that return
 * strings. Browser-safe.
 *
 * @module dagrad/research
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
export { maxPoolWindowList, maxPoolOutputShape, listWindows, tieSets, resolveMaxPoolKind, isMaxPoolKind, kindDims, tieOf, type MaxPoolKind, type WindowList } from "./windows.ts"
export { nodeWindowList, resolveTieGeometry, isFractionalKind, type FractionalKind, type TieGeometry } from "./windows.ts"
export type { Windows, WindowAxis } from "../kernels/pool/windows.ts"
export {
  checkTieAwareGradients,
  checkTieAwareOp,
  type TieRule,
  type TieSite,
  type TieRuleResult,
  type TieCheckReport,
  type TieCheckOptions,
} from "./tie-check.ts"
export { phaseOne, type FeasibilityResult } from "./feasibility.ts"
export {
  runStudy,
  summarizeStudy,
  meanCI,
  studyReportMarkdown,
  poolingRouting,
  registerStudyVariant,
  studyVariant,
  studyVariantNames,
  lenet5With,
  type StudyVariant,
  type StudyOptions,
  type StudyData,
  type StudyRun,
  type StudyEval,
  type StudyResult,
  type LayerRouting,
  type MeanCI,
  type VariantSummary,
} from "./study.ts"
export { PoolLayer } from "../nn/research-pooling.ts"
