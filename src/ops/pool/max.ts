/**
 * max_pool1d/2d/3d and their backward ops (made by the shared max family factory).
 *
 * Numerics are PyTorch's (see the rules in src/kernels/pool/windows.ts): padding never wins,
 * ties pick the lowest flat index, NaN propagates with the LAST NaN's index, a window of
 * only -inf picks its first in-bounds element. `tie` and `nan` attrs choose other
 * conventions for research (the forward value is the same; only the index and the
 * gradient routing change).
 */
import type { Tensor } from "../../tensor/tensor.ts"
import { maxPool2dAxes } from "../../kernels/pool/pool2d.ts"
import { maxPool2x2Planes } from "../../kernels/pool/parallel.ts"
import { nanPolicy, poolOutputShape, poolParams, poolWindows, tiePolicy, type NanPolicy, type PoolParams, type TiePolicy } from "./geometry.ts"
import { makeMaxFamily, type MaxPolicyAttrs } from "./max-family.ts"
import { floats, ints } from "./planes.ts"
import { booleanAttr, type SpatialParam } from "../attrs.ts"

/** Normalised attrs of max_pool{1,2,3}d (one entry per spatial dim). */
export type MaxPoolAttrs = PoolParams & MaxPolicyAttrs

/** max_pool attrs as PyTorch's keyword arguments, plus the `tie` and `nan` extensions. */
export type MaxPoolOptions = {
  kernel_size: SpatialParam
  /** Default: kernel_size (PyTorch's stride=None). */
  stride?: SpatialParam | null
  /** Implicit -inf padding on both sides; at most kernel_size / 2. Default 0. */
  padding?: SpatialParam
  /** Spacing between window elements. Default 1. */
  dilation?: SpatialParam
  /** Round the output size up (the last window may hang over the end). Default false. */
  ceil_mode?: boolean
  /** Accepted for PyTorch compatibility; the indices output exists either way. */
  return_indices?: boolean
  /** Gradient routing among tied maxima. Default "first" (PyTorch). */
  tie?: TiePolicy
  /** NaN handling. Default "propagate" (PyTorch). */
  nan?: NanPolicy
}

export function maxPoolAttrs(raw: MaxPoolOptions, dims: number): MaxPoolAttrs {
  return {
    ...poolParams(raw, dims, { padding: true, dilation: true }),
    return_indices: booleanAttr(raw.return_indices, "return_indices", false),
    tie: tiePolicy(raw.tie),
    nan: nanPolicy(raw.nan),
  }
}

/** The 2-d fast paths, for PyTorch's default policies (the forward of split/all is the same as first). */
function fast2d(x: Tensor, y: Tensor, indices: Tensor | undefined, a: MaxPoolAttrs): boolean {
  if (a.tie === "last" || a.nan !== "propagate") return false
  const [H, W] = x.shape.slice(-2)
  const [OH, OW] = y.shape.slice(-2)
  const planes = y.data.length / (OH * OW)
  const idx = indices && ints(indices)
  const [k0, k1] = a.kernel_size
  const [s0, s1] = a.stride
  const plain = a.padding[0] === 0 && a.padding[1] === 0 && a.dilation[0] === 1 && a.dilation[1] === 1
  if (plain && k0 === 2 && k1 === 2 && s0 === 2 && s1 === 2 && 2 * OH <= H && 2 * OW <= W) {
    maxPool2x2Planes(floats(x), floats(y), idx, planes, H, W, OH, OW)
    return true
  }
  const w = poolWindows(x.shape, a, false)
  maxPool2dAxes(floats(x), floats(y), idx, planes, w.axes[1], w.axes[2])
  return true
}

function makeMaxPool(dims: 1 | 2 | 3) {
  return makeMaxFamily({
    name: `max_pool${dims}d`,
    dims,
    doc: `${dims}-d max pooling (kernel_size, stride, padding, dilation, ceil_mode); optional int32 argmax output 'indices'`,
    attrs: (raw: MaxPoolOptions): MaxPoolAttrs => maxPoolAttrs(raw, dims),
    outputShape: (x, a) => poolOutputShape(x, a),
    windows: (x, a) => poolWindows(x, a, false),
    fast: dims === 2 ? fast2d : undefined,
  })
}

const max1 = makeMaxPool(1)
const max2 = makeMaxPool(2)
const max3 = makeMaxPool(3)

/** The max_pool1d op record (F.max_pool1d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link maxPool1d}). */
export const maxPool1dOp = max1.forward
/** The max_pool2d op record (F.max_pool2d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link maxPool2d}). */
export const maxPool2dOp = max2.forward
/** The max_pool3d op record (F.max_pool3d): input `x`, output `y` and the optional int32 argmax output `indices` (see {@link maxPool3d}). */
export const maxPool3dOp = max3.forward
export const maxPool1dBackwardOp = max1.backward
export const maxPool2dBackwardOp = max2.backward
export const maxPool3dBackwardOp = max3.backward
export const maxPool1dBackwardTiesOp = max1.ties
export const maxPool2dBackwardTiesOp = max2.ties
export const maxPool3dBackwardTiesOp = max3.ties
export const maxPool1dBackwardTiesTransposeOp = max1.tiesTranspose
export const maxPool2dBackwardTiesTransposeOp = max2.tiesTranspose
export const maxPool3dBackwardTiesTransposeOp = max3.tiesTranspose

export const maxPoolOpList = [max1, max2, max3].flatMap((f) => [f.forward, f.backward, f.ties, f.tiesTranspose])
