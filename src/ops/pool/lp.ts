/**
 * lp_pool1d/2d/3d, exactly PyTorch's definition:
 *
 *     y = (sign(a) * relu(|a|) * K) ** (1/p),   a = avg_pool(x ** p)  (no padding, count_include_pad)
 *
 * i.e. y = (S * K / n) ** (1/p) with S the SIGNED sum of x**p over the in-bounds window,
 * K = prod(kernel_size), n the in-bounds count (n < K only for a ceil_mode partial window).
 *
 * The gradient is built from ordinary ops (so it can be differentiated again):
 *
 *     gx = x**(p-1) * avg_pool_backward( where(y != 0, gy * K * y**(1-p), 0) )
 *
 * which is dy/dx_i = (K/n) x_i**(p-1) y**(1-p) per window. Where S = 0 PyTorch's relu mask
 * zeroes the infinite derivative of t**(1/p) at 0, so the gradient there is exactly 0 (the
 * `where`); where S < 0 and 1/p is fractional the output and gradient are NaN, as in PyTorch.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { lpPoolWindows } from "../../kernels/pool/windows.ts"
import { sameShape, sizeOf } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { mul, pow, scale, whereNonzero } from "../pointwise/index.ts"
import { avgPool1dBackwardOp, avgPool2dBackwardOp, avgPool3dBackwardOp, undilated, type AvgPoolAttrs } from "./avg.ts"
import { poolOutputShape, poolParams, poolWindows, splitPoolInput } from "./geometry.ts"
import { floats } from "./planes.ts"
import { type SpatialParam } from "../attrs.ts"

/** Normalised attrs of lp_pool{1,2,3}d. */
export type LpPoolAttrs = { norm_type: number; kernel_size: number[]; stride: number[]; ceil_mode: boolean }

/** lp_pool attrs as PyTorch's arguments (no padding, no dilation). */
export type LpPoolOptions = {
  /** The power p (1: signed sum; 2: root of the sum of squares). */
  norm_type: number
  kernel_size: SpatialParam
  /** Default: kernel_size. */
  stride?: SpatialParam | null
  ceil_mode?: boolean
}

export function lpPoolAttrs(raw: LpPoolOptions, dims: number): LpPoolAttrs {
  const p = raw.norm_type
  if (typeof p !== "number" || !Number.isFinite(p) || p === 0) throw new AttrError(`norm_type = ${JSON.stringify(p)} (expected a finite non-zero number, e.g. 1 or 2)`)
  const g = poolParams({ kernel_size: raw.kernel_size, stride: raw.stride, ceil_mode: raw.ceil_mode }, dims, { padding: false, dilation: false })
  return { norm_type: p, kernel_size: g.kernel_size, stride: g.stride, ceil_mode: g.ceil_mode }
}

const windowParams = (a: LpPoolAttrs) => undilated({ ...a, padding: a.kernel_size.map(() => 0) })


const avgBackwardOps = { 1: avgPool1dBackwardOp, 2: avgPool2dBackwardOp, 3: avgPool3dBackwardOp } as const

function makeLpPool(dims: 1 | 2 | 3) {
  return defineOp({
    name: `lp_pool${dims}d`,
    doc: `${dims}-d power-average pooling: (sum of x^p over the window * K / n)^(1/p)`,
    inputs: ["x"],
    outputs: ["y"],
    attrs: (raw: LpPoolOptions): LpPoolAttrs => lpPoolAttrs(raw, dims),
    infer: ({ x }, a) => {
      splitPoolInput(x, dims)
      return { y: { shape: poolOutputShape(x.shape, windowParams(a)), dtype: x.dtype } }
    },
    kernel: ({ inputs: { x }, outputs: { y }, attrs: a }) =>
      lpPoolWindows(floats(x), floats(y), poolWindows(x.shape, windowParams(a), true), a.norm_type, sizeOf(a.kernel_size)),
    grad: ({ inputs: { x }, outputs: { y }, grads: { y: gy }, attrs: a }) => {
      const p = a.norm_type
      let v: Value = scale(gy!, sizeOf(a.kernel_size))
      if (p !== 1) v = mul(v, pow(y, 1 - p))
      v = whereNonzero(v, y)
      const avgAttrs: AvgPoolAttrs & { input_size: number[] } = {
        ...windowParams(a),
        count_include_pad: true,
        divisor_override: null,
        input_size: x.shape.slice(x.shape.length - dims),
      }
      const spread = x.builder.apply(avgBackwardOps[dims], { gy: v }, avgAttrs).y
      return { x: p === 1 ? spread : mul(spread, pow(x, p - 1)) }
    },
  })
}

/** The lp_pool1d op record (F.lp_pool1d): input `x`, output `y` (see {@link lpPool1d}). */
export const lpPool1dOp = makeLpPool(1)
/** The lp_pool2d op record (F.lp_pool2d): input `x`, output `y` (see {@link lpPool2d}). */
export const lpPool2dOp = makeLpPool(2)
/** The lp_pool3d op record (F.lp_pool3d): input `x`, output `y` (see {@link lpPool3d}). */
export const lpPool3dOp = makeLpPool(3)

export const lpPoolOpList = [lpPool1dOp, lpPool2dOp, lpPool3dOp]
