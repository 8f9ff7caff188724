/**
 * adaptive_avg_pool{1,2,3}d and adaptive_max_pool{1,2,3}d. Bin i of an output of size O
 * over an input of size L covers [floor(i*L/O), ceil((i+1)*L/O)) (PyTorch's start_index /
 * end_index): bins overlap when O does not divide L and repeat elements when O > L.
 * The ops reuse the avg and max families, so their backward ops, tie policies, NaN rules
 * and double backward are the same as for ordinary pooling.
 */
import { nanPolicy, adaptiveOutputShape, adaptiveOutputSizeAttr, adaptiveWindows, resolveAdaptiveSize, tiePolicy, type NanPolicy, type TiePolicy } from "./geometry.ts"
import { makeAvgFamily } from "./avg.ts"
import { makeMaxFamily, type MaxPolicyAttrs } from "./max-family.ts"
import { booleanAttr } from "../attrs.ts"

/** Adaptive output size: an int for every spatial dim, or one entry per dim (null keeps that input size). */
export type AdaptiveSize = number | readonly (number | null)[]

/** Normalised attrs of adaptive_avg_pool{1,2,3}d: the output size per spatial dim (null keeps that input size). */
export type AdaptiveAvgPoolAttrs = { output_size: (number | null)[] }
/** Normalised attrs of adaptive_max_pool{1,2,3}d: the output size plus `return_indices` and the tie and NaN policies. */
export type AdaptiveMaxPoolAttrs = AdaptiveAvgPoolAttrs & MaxPolicyAttrs

/** Options of adaptive max pooling besides output_size. */
export type AdaptiveMaxPoolOptions = { return_indices?: boolean; tie?: TiePolicy; nan?: NanPolicy }

function makeAdaptiveAvg(dims: 1 | 2 | 3) {
  return makeAvgFamily({
    name: `adaptive_avg_pool${dims}d`,
    dims,
    doc: `${dims}-d adaptive average pooling to output_size (bin i: [floor(iL/O), ceil((i+1)L/O)))`,
    attrs: (raw: { output_size: AdaptiveSize }): AdaptiveAvgPoolAttrs => ({ output_size: adaptiveOutputSizeAttr(raw.output_size, dims) }),
    outputShape: (x, a) => adaptiveOutputShape(x, a.output_size),
    windows: (x, a) => adaptiveWindows(x, resolveAdaptiveSize(x, a.output_size)),
    override: () => null,
  })
}

function makeAdaptiveMax(dims: 1 | 2 | 3) {
  return makeMaxFamily({
    name: `adaptive_max_pool${dims}d`,
    dims,
    doc: `${dims}-d adaptive max pooling to output_size; optional int32 argmax output 'indices'`,
    attrs: (raw: { output_size: AdaptiveSize } & AdaptiveMaxPoolOptions): AdaptiveMaxPoolAttrs => ({
      output_size: adaptiveOutputSizeAttr(raw.output_size, dims),
      return_indices: booleanAttr(raw.return_indices, "return_indices", false),
      tie: tiePolicy(raw.tie),
      nan: nanPolicy(raw.nan),
    }),
    outputShape: (x, a) => adaptiveOutputShape(x, a.output_size),
    windows: (x, a) => adaptiveWindows(x, resolveAdaptiveSize(x, a.output_size)),
  })
}

const avg1 = makeAdaptiveAvg(1)
const avg2 = makeAdaptiveAvg(2)
const avg3 = makeAdaptiveAvg(3)
const max1 = makeAdaptiveMax(1)
const max2 = makeAdaptiveMax(2)
const max3 = makeAdaptiveMax(3)

/** The adaptive_avg_pool1d op record (F.adaptive_avg_pool1d): input `x`, output `y` (see {@link adaptiveAvgPool1d}). */
export const adaptiveAvgPool1dOp = avg1.forward
/** The adaptive_avg_pool2d op record (F.adaptive_avg_pool2d): input `x`, output `y` (see {@link adaptiveAvgPool2d}). */
export const adaptiveAvgPool2dOp = avg2.forward
/** The adaptive_avg_pool3d op record (F.adaptive_avg_pool3d): input `x`, output `y` (see {@link adaptiveAvgPool3d}). */
export const adaptiveAvgPool3dOp = avg3.forward
export const adaptiveAvgPool1dBackwardOp = avg1.backward
export const adaptiveAvgPool2dBackwardOp = avg2.backward
export const adaptiveAvgPool3dBackwardOp = avg3.backward
/** The adaptive_max_pool1d op record (F.adaptive_max_pool1d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link adaptiveMaxPool1d}). */
export const adaptiveMaxPool1dOp = max1.forward
/** The adaptive_max_pool2d op record (F.adaptive_max_pool2d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link adaptiveMaxPool2d}). */
export const adaptiveMaxPool2dOp = max2.forward
/** The adaptive_max_pool3d op record (F.adaptive_max_pool3d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link adaptiveMaxPool3d}). */
export const adaptiveMaxPool3dOp = max3.forward
export const adaptiveMaxPool1dBackwardOp = max1.backward
export const adaptiveMaxPool2dBackwardOp = max2.backward
export const adaptiveMaxPool3dBackwardOp = max3.backward

export const adaptiveMaxPool1dBackwardTiesOp = max1.ties
export const adaptiveMaxPool2dBackwardTiesOp = max2.ties
export const adaptiveMaxPool3dBackwardTiesOp = max3.ties
export const adaptiveMaxPool1dBackwardTiesTransposeOp = max1.tiesTranspose
export const adaptiveMaxPool2dBackwardTiesTransposeOp = max2.tiesTranspose
export const adaptiveMaxPool3dBackwardTiesTransposeOp = max3.tiesTranspose

export const adaptiveOpList = [
  ...[avg1, avg2, avg3].flatMap((f) => [f.forward, f.backward]),
  ...[max1, max2, max3].flatMap((f) => [f.forward, f.backward, f.ties, f.tiesTranspose]),
]
