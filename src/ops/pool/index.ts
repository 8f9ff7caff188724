/**
 * The pooling family: max, avg, lp, adaptive avg/max, max_unpool (1-d, 2-d, 3-d), their
 * backward ops, and the shared window geometry. This file is the family's public surface:
 * op defs, the functional API, geometry helpers and `poolOps`.
 *
 * Inputs are (N, C, *spatial) or unbatched (C, *spatial). Max-type pools have an optional
 * int32 output `indices` (flat index into each (n, c) plane, PyTorch's) computed only when
 * something consumes it: an inference graph never pays for it, and in a training graph the
 * backward node reads it as an ordinary edge.
 *
 * Sum pooling is avg pooling with divisor_override = 1 (see {@link sumPool2d}).
 *
 * Conventions (PyTorch's unless an attr says otherwise; each is also commented where the
 * kernel decides it, in src/kernels/pool*.ts):
 * - Max: padding never wins; ties pick the lowest flat index and the whole upstream goes
 *   there; NaN propagates and the index is the window's LAST NaN; a window of only -inf
 *   picks its first in-bounds element. `tie: "last" | "split" | "all"` and
 *   `nan: "ignore"` are extensions (a window of only NaN under "ignore" outputs NaN with
 *   index -1 and no gradient).
 * - A dilated window lying entirely in padding (PyTorch allows it when p <= k/2) outputs
 *   -inf with index -1 and no gradient; PyTorch reports an index outside the window there.
 * - Avg: the count_include_pad divisor counts padding but not the part of a ceil_mode
 *   window beyond the right padding; the gradient does not depend on x.
 * - Lp: the window sum of x**p is signed; where it is 0 the gradient is 0.
 * - max_unpool: repeated indices keep the last write forward; backward each repeat gets
 *   the full upstream value (a gather).
 * - ceil_mode drops a last window that would start in the right padding.
 *
 * Gradient structure: max-type pools save their argmax as the `indices` output and the
 * backward op `*_backward(gy, indices)` reads that edge; tie "split"/"all" use
 * `*_backward_ties(gy, x, y)`, which finds the tie sets by comparing x with the saved y.
 * Every backward op has its own gradient rule (gather_planes / scatter_add_planes, the
 * forward avg pool, the ties transpose), so double backward works.
 */
import { adaptiveAvgPool1dBackwardOp, adaptiveAvgPool1dOp, adaptiveAvgPool2dBackwardOp, adaptiveAvgPool2dOp, adaptiveAvgPool3dBackwardOp, adaptiveAvgPool3dOp, adaptiveMaxPool1dBackwardOp, adaptiveMaxPool1dOp, adaptiveMaxPool2dBackwardOp, adaptiveMaxPool2dOp, adaptiveMaxPool3dBackwardOp, adaptiveMaxPool3dOp, adaptiveMaxPool1dBackwardTiesOp, adaptiveMaxPool2dBackwardTiesOp, adaptiveMaxPool3dBackwardTiesOp, adaptiveMaxPool1dBackwardTiesTransposeOp, adaptiveMaxPool2dBackwardTiesTransposeOp, adaptiveMaxPool3dBackwardTiesTransposeOp, adaptiveOpList } from "./adaptive.ts"
import { avgPool1dBackwardOp, avgPool1dOp, avgPool2dBackwardOp, avgPool2dOp, avgPool3dBackwardOp, avgPool3dOp, avgPoolOpList } from "./avg.ts"
import { lpPool1dOp, lpPool2dOp, lpPool3dOp, lpPoolOpList } from "./lp.ts"
import { maxPool1dBackwardOp, maxPool1dBackwardTiesOp, maxPool1dBackwardTiesTransposeOp, maxPool1dOp, maxPool2dBackwardOp, maxPool2dBackwardTiesOp, maxPool2dBackwardTiesTransposeOp, maxPool2dOp, maxPool3dBackwardOp, maxPool3dBackwardTiesOp, maxPool3dBackwardTiesTransposeOp, maxPool3dOp, maxPoolOpList } from "./max.ts"
import { gatherPlanes, gatherPlanesOp, scatterAddPlanes, scatterAddPlanesOp } from "./planes.ts"
import { maxUnpool1dOp, maxUnpool2dOp, maxUnpool3dOp, unpoolOpList } from "./unpool.ts"

export {
  maxPool1dOp,
  maxPool2dOp,
  maxPool3dOp,
  maxPool1dBackwardOp,
  maxPool2dBackwardOp,
  maxPool3dBackwardOp,
  maxPool1dBackwardTiesOp,
  maxPool2dBackwardTiesOp,
  maxPool3dBackwardTiesOp,
  maxPool1dBackwardTiesTransposeOp,
  maxPool2dBackwardTiesTransposeOp,
  maxPool3dBackwardTiesTransposeOp,
  avgPool1dOp,
  avgPool2dOp,
  avgPool3dOp,
  avgPool1dBackwardOp,
  avgPool2dBackwardOp,
  avgPool3dBackwardOp,
  lpPool1dOp,
  lpPool2dOp,
  lpPool3dOp,
  adaptiveAvgPool1dOp,
  adaptiveAvgPool2dOp,
  adaptiveAvgPool3dOp,
  adaptiveAvgPool1dBackwardOp,
  adaptiveAvgPool2dBackwardOp,
  adaptiveAvgPool3dBackwardOp,
  adaptiveMaxPool1dOp,
  adaptiveMaxPool2dOp,
  adaptiveMaxPool3dOp,
  adaptiveMaxPool1dBackwardOp,
  adaptiveMaxPool2dBackwardOp,
  adaptiveMaxPool3dBackwardOp,
  adaptiveMaxPool1dBackwardTiesOp,
  adaptiveMaxPool2dBackwardTiesOp,
  adaptiveMaxPool3dBackwardTiesOp,
  adaptiveMaxPool1dBackwardTiesTransposeOp,
  adaptiveMaxPool2dBackwardTiesTransposeOp,
  adaptiveMaxPool3dBackwardTiesTransposeOp,
  maxUnpool1dOp,
  maxUnpool2dOp,
  maxUnpool3dOp,
  gatherPlanesOp,
  scatterAddPlanesOp,
  gatherPlanes,
  scatterAddPlanes,
}
export type { MaxPoolOptions, MaxPoolAttrs } from "./max.ts"
export type { AvgPoolOptions, AvgPoolAttrs } from "./avg.ts"
export type { LpPoolOptions, LpPoolAttrs } from "./lp.ts"
export type { AdaptiveSize, AdaptiveMaxPoolOptions, AdaptiveAvgPoolAttrs, AdaptiveMaxPoolAttrs } from "./adaptive.ts"
export type { MaxUnpoolOptions, MaxUnpoolAttrs } from "./unpool.ts"
export {
  poolOutputSize,
  poolOutputShape,
  derivePoolOutputSize,
  explainPoolShape,
  poolWindow,
  adaptiveBin,
  adaptiveOutputShape,
  unpoolDefaultSize,
  unpoolOutputSize,
  type PoolParams,
  type PoolWindow,
  type TiePolicy,
  type NanPolicy,
} from "./geometry.ts"

export * from "./functional.ts"

/** Every pooling op: forward, backward, and the helper ops their gradients use. */
export const poolOps = [
  ...maxPoolOpList,
  ...avgPoolOpList,
  ...lpPoolOpList,
  ...adaptiveOpList,
  ...unpoolOpList,
  gatherPlanesOp,
  scatterAddPlanesOp,
] as const
