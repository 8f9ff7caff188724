/**
 * avg_pool1d/2d/3d and adaptive_avg_pool's shared factory. An average pool is linear,
 *
 *     y[o] = sum_{i in W(o)} x[i] / D(o)
 *
 * and its backward gx[i] = sum_{o : i in W(o)} gy[o] / D(o) is its adjoint, so the
 * gradient of the backward op (with respect to gy) is the forward op again with the same
 * windows and divisors: double backward needs no further kernels.
 *
 * Divisors (PyTorch): divisor_override if given; else with count_include_pad the product
 * over dims of pool_size = min(start + k, L + p) - start (padding counts, but not the part
 * of a ceil_mode window beyond the right padding); else the in-bounds element count.
 * Sum pooling is avg pooling with divisor_override = 1.
 */
import { AttrError } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { Attrs } from "../../graph/types.ts"
import { avgPoolBackwardWindows, avgPoolWindows } from "../../kernels/pool/windows.ts"
import { avgPool2x2, avgPool2x2Backward } from "../../kernels/pool/pool2d.ts"
import { sameShape, type Shape } from "../../tensor/shape.ts"
import { ShapeError, showShape } from "../../errors.ts"
import { defineOp } from "../../graph/op.ts"
import { poolOutputShape, poolParams, poolWindows, splitPoolInput, type PoolFamilySpec, type PoolParams } from "./geometry.ts"
import { floats } from "./planes.ts"
import { booleanAttr, spatialParam, type SpatialParam } from "../attrs.ts"

export interface AvgFamilySpec<RawA, A extends Attrs & RawA> extends PoolFamilySpec<RawA, A> {
  override(a: A): number | null
  /**
   * When the windows are the plain 2x2 / stride 2 / no padding tiling of a 2-d input, the
   * divisor every window uses; undefined otherwise (the generic kernels run).
   */
  tiled2x2?(x: Shape, a: A): number | undefined
}

/** `A extends RawA`: stored attrs are valid raw attrs, so the backward's rule can re-apply the forward. */
export function makeAvgFamily<RawA, A extends Attrs & RawA>(spec: AvgFamilySpec<RawA, A>) {
  const { name, dims } = spec
  type WithInput = A & { input_size: number[] }

  const forward = defineOp({
    name,
    doc: spec.doc,
    inputs: ["x"],
    outputs: ["y"],
    attrs: spec.attrs,
    infer: ({ x }, a) => {
      splitPoolInput(x, dims)
      return { y: { shape: spec.outputShape(x.shape, a), dtype: x.dtype } }
    },
    kernel: ({ inputs: { x }, outputs: { y }, attrs }) => {
      const divisor = spec.tiled2x2?.(x.shape, attrs)
      if (divisor !== undefined) {
        const [H, W, OH, OW] = [...x.shape.slice(-2), ...y.shape.slice(-2)]
        avgPool2x2(floats(x), floats(y), y.data.length / (OH * OW), H, W, OH, OW, divisor)
      } else avgPoolWindows(floats(x), floats(y), spec.windows(x.shape, attrs), spec.override(attrs))
    },
    grad: ({ inputs: { x }, grads: { y: gy }, attrs }): { x?: Value } => ({
      x: x.builder.apply(backward, { gy: gy! }, { ...attrs, input_size: x.shape.slice(x.shape.length - dims) }).y,
    }),
  })

  const backward = defineOp({
    name: `${name}_backward`,
    doc: `gradient of ${name}: gy[o] / divisor spread over window o`,
    inputs: ["gy"],
    outputs: ["y"],
    attrs: (raw: RawA & { input_size: readonly number[] }): WithInput => ({ ...spec.attrs(raw), input_size: spatialParam(raw.input_size, dims, "input_size", 1) }),
    infer: ({ gy }, a) => {
      splitPoolInput(gy, dims, "gy")
      const xShape = [...gy.shape.slice(0, gy.shape.length - dims), ...a.input_size]
      const want = spec.outputShape(xShape, a)
      if (!sameShape(gy.shape, want)) throw new ShapeError(`gy ${showShape(gy.shape)} (expected ${showShape(want)}, the ${name} output for input ${showShape(xShape)})`)
      return { y: { shape: xShape, dtype: gy.dtype } }
    },
    kernel: ({ inputs: { gy }, outputs: { y }, attrs }) => {
      const divisor = spec.tiled2x2?.(y.shape, attrs)
      if (divisor !== undefined) {
        const [H, W, OH, OW] = [...y.shape.slice(-2), ...gy.shape.slice(-2)]
        avgPool2x2Backward(floats(gy), floats(y), gy.data.length / (OH * OW), H, W, OH, OW, divisor)
      } else avgPoolBackwardWindows(floats(gy), floats(y), spec.windows(y.shape, attrs), spec.override(attrs))
    },
    // Linear in gy; the adjoint of "spread gy[o] / D(o)" is "average with divisor D(o)": the forward.
    grad: ({ grads: { y: ggx }, attrs }): { gy?: Value } => ({ gy: ggx!.builder.apply(forward, { x: ggx! }, attrs).y }),
  })

  return { forward, backward }
}

/** Normalised attrs of avg_pool{1,2,3}d. */
export type AvgPoolAttrs = {
  kernel_size: number[]
  stride: number[]
  padding: number[]
  ceil_mode: boolean
  count_include_pad: boolean
  divisor_override: number | null
}

/** avg_pool attrs as PyTorch's keyword arguments. */
export type AvgPoolOptions = {
  kernel_size: SpatialParam
  /** Default: kernel_size. */
  stride?: SpatialParam | null
  /** Implicit zero padding on both sides; at most kernel_size / 2. Default 0. */
  padding?: SpatialParam
  ceil_mode?: boolean
  /** Count padded zeros in the divisor. Default true (PyTorch). */
  count_include_pad?: boolean
  /** A fixed non-zero integer divisor (1 = sum pooling). Default null. PyTorch's avg_pool1d has none; we accept it there too. */
  divisor_override?: number | null
}

export function avgPoolAttrs(raw: AvgPoolOptions, dims: number): AvgPoolAttrs {
  const p = poolParams(raw, dims, { padding: true, dilation: false })
  const d = raw.divisor_override
  if (d !== undefined && d !== null && (typeof d !== "number" || !Number.isInteger(d) || d === 0)) {
    throw new AttrError(`divisor_override = ${JSON.stringify(d)} (expected null or a non-zero integer)`)
  }
  return {
    kernel_size: p.kernel_size,
    stride: p.stride,
    padding: p.padding,
    ceil_mode: p.ceil_mode,
    count_include_pad: booleanAttr(raw.count_include_pad, "count_include_pad", true),
    divisor_override: d ?? null,
  }
}

/** Avg/lp attrs as window params (no dilation). */
export function undilated(a: { kernel_size: number[]; stride: number[]; padding: number[]; ceil_mode: boolean }): PoolParams {
  return { kernel_size: a.kernel_size, stride: a.stride, padding: a.padding, dilation: a.kernel_size.map(() => 1), ceil_mode: a.ceil_mode }
}

function makeAvgPool(dims: 1 | 2 | 3) {
  return makeAvgFamily({
    name: `avg_pool${dims}d`,
    dims,
    doc: `${dims}-d average pooling (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)`,
    attrs: (raw: AvgPoolOptions): AvgPoolAttrs => avgPoolAttrs(raw, dims),
    outputShape: (x, a) => poolOutputShape(x, undilated(a)),
    windows: (x, a) => poolWindows(x, undilated(a), a.count_include_pad),
    override: (a) => a.divisor_override,
    // 2x2 / stride 2 / no padding: every window is full (ceil_mode only matters for odd sizes)
    tiled2x2:
      dims === 2
        ? (x, a) => {
            const plain = a.kernel_size.every((k) => k === 2) && a.stride.every((s) => s === 2) && a.padding.every((p) => p === 0)
            const evenOrFloor = !a.ceil_mode || x.slice(-2).every((L) => L % 2 === 0)
            return plain && evenOrFloor ? (a.divisor_override ?? 4) : undefined
          }
        : undefined,
  })
}

const avg1 = makeAvgPool(1)
const avg2 = makeAvgPool(2)
const avg3 = makeAvgPool(3)

/** The avg_pool1d op record (F.avg_pool1d): input `x`, output `y` (see {@link avgPool1d}). */
export const avgPool1dOp = avg1.forward
/** The avg_pool2d op record (F.avg_pool2d): input `x`, output `y` (see {@link avgPool2d}). */
export const avgPool2dOp = avg2.forward
/** The avg_pool3d op record (F.avg_pool3d): input `x`, output `y` (see {@link avgPool3d}). */
export const avgPool3dOp = avg3.forward
export const avgPool1dBackwardOp = avg1.backward
export const avgPool2dBackwardOp = avg2.backward
export const avgPool3dBackwardOp = avg3.backward

export const avgPoolOpList = [avg1, avg2, avg3].flatMap((f) => [f.forward, f.backward])
