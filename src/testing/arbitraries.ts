import fc from "fast-check"
import { hasEmptyWindow } from "./pool-arbitraries.ts"
import { sizeOf } from "../tensor/shape.ts"
import { tensor, type Tensor } from "../tensor/tensor.ts"

/**
 * fast-check arbitraries for gradient properties: shapes, tensors (tie-free or tie-heavy),
 * and valid pooling / convolution configurations. They shrink toward small shapes and
 * simple attributes, so a failing property reports a minimal case.
 *
 * @example
 * fc.assert(fc.property(poolConfigArb(2).chain((c) => fc.tuple(fc.constant(c), distinctTensorArb(c.inputShape))),
 *   ([c, x]) => checkGradients(({ x }) => maxPool2d(x, c.attrs), { x }).ok))
 */

export interface ShapeArbOptions {
  readonly minRank?: number
  readonly maxRank?: number
  readonly minDim?: number
  readonly maxDim?: number
}

/** A shape with rank and sizes in the given ranges. */
export function shapeArb(o: ShapeArbOptions = {}): fc.Arbitrary<number[]> {
  const minRank = o.minRank ?? 1
  const maxRank = o.maxRank ?? 4
  return fc.array(fc.integer({ min: o.minDim ?? 1, max: o.maxDim ?? 4 }), { minLength: minRank, maxLength: maxRank })
}

/** A float64 tensor of `shape` with values in [min, max] on a 1/1000 grid (ties possible). */
export function tensorArb(shape: readonly number[], o: { min?: number; max?: number } = {}): fc.Arbitrary<Tensor> {
  const min = Math.round((o.min ?? -2) * 1000)
  const max = Math.round((o.max ?? 2) * 1000)
  const n = sizeOf(shape)
  return fc.array(fc.integer({ min, max }), { minLength: n, maxLength: n }).map((v) => tensor(v.map((k) => k / 1000), shape, "float64"))
}

/**
 * A float64 tensor whose values are pairwise distinct and at least `margin` apart, so no
 * max-pool window holds a tie and no value sits within a finite-difference step of
 * another: the inputs on which central differences are a valid gradient check.
 */
export function distinctTensorArb(shape: readonly number[], o: { margin?: number; offset?: number } = {}): fc.Arbitrary<Tensor> {
  const margin = o.margin ?? 0.01
  const offset = o.offset ?? 0
  const n = sizeOf(shape)
  const span = Math.max(2 * n, 200)
  return fc
    .uniqueArray(fc.integer({ min: -span, max: span }), { minLength: n, maxLength: n })
    .map((v) => tensor(v.map((k) => k * margin + offset), shape, "float64"))
}

/** A tensor of small integers (-2..2 by default): windows with tied maxima are common. */
export function tieHeavyTensorArb(shape: readonly number[], o: { min?: number; max?: number } = {}): fc.Arbitrary<Tensor> {
  const n = sizeOf(shape)
  return fc.array(fc.integer({ min: o.min ?? -2, max: o.max ?? 2 }), { minLength: n, maxLength: n }).map((v) => tensor(v, shape, "float64"))
}

/** A pooling problem drawn by {@link poolConfigArb}: the input shape and PyTorch-style attrs, one entry per spatial dim. */
export interface PoolConfig {
  /** [N, C, ...spatial] */
  readonly inputShape: number[]
  readonly attrs: {
    readonly kernel_size: number[]
    readonly stride: number[]
    readonly padding: number[]
    readonly dilation: number[]
    readonly ceil_mode: boolean
  }
}

/** Bounds of {@link poolConfigArb}: largest kernel, stride, dilation, batch and channels, and whether padding and ceil_mode may be drawn. */
export interface PoolConfigOptions {
  readonly maxKernel?: number
  readonly maxStride?: number
  /** Largest dilation; 1 for avg/lp pooling, which have none. */
  readonly maxDilation?: number
  /** Extra input length beyond the minimum one window needs. */
  readonly maxExtra?: number
  readonly maxBatch?: number
  readonly maxChannels?: number
  /** Allow padding (avg/max pooling); lp pooling has none. */
  readonly padding?: boolean
  readonly ceilMode?: boolean
}

/**
 * A valid pooling configuration for `dims` spatial dimensions, following PyTorch's rules:
 * padding at most half the kernel, at least one output per dimension, and (ceil_mode) the
 * last window starting inside the input or left padding. Non-square kernels, strides,
 * dilations and paddings are drawn independently per dimension.
 */
export function poolConfigArb(dims: 1 | 2 | 3, o: PoolConfigOptions = {}): fc.Arbitrary<PoolConfig> {
  const perDim = fc
    .record({
      k: fc.integer({ min: 1, max: o.maxKernel ?? 3 }),
      s: fc.integer({ min: 1, max: o.maxStride ?? 3 }),
      d: fc.integer({ min: 1, max: o.maxDilation ?? 2 }),
      pFrac: fc.integer({ min: 0, max: o.padding === false ? 0 : 2 }),
      extra: fc.integer({ min: 0, max: o.maxExtra ?? 4 }),
    })
    .map(({ k, s, d, pFrac, extra }) => {
      const p = Math.min(pFrac, Math.floor(k / 2))
      const minLength = Math.max(1, d * (k - 1) + 1 - 2 * p)
      return { k, s, d, p, L: minLength + extra }
    })
  return fc
    .record({
      n: fc.integer({ min: 1, max: o.maxBatch ?? 2 }),
      c: fc.integer({ min: 1, max: o.maxChannels ?? 2 }),
      spatial: fc.array(perDim, { minLength: dims, maxLength: dims }),
      ceil: o.ceilMode === false ? fc.constant(false) : fc.boolean(),
    })
    .map(({ n, c, spatial, ceil }) => ({
      inputShape: [n, c, ...spatial.map((x) => x.L)],
      attrs: {
        kernel_size: spatial.map((x) => x.k),
        stride: spatial.map((x) => x.s),
        padding: spatial.map((x) => x.p),
        dilation: spatial.map((x) => x.d),
        ceil_mode: ceil,
      },
    }))
    .filter((c) => !hasWindowInPaddingOnly(c))
}

/**
 * True when some window of the configuration touches no input element: possible with
 * dilation (k=2, d=2, p=1 on L=1 reads positions -1 and 1). PyTorch accepts such
 * configurations but its output there is -inf and its argmax points outside the window;
 * they are excluded from {@link poolConfigArb} so every output has a real window.
 */
export function hasWindowInPaddingOnly(c: PoolConfig): boolean {
  const { kernel_size, stride, padding, dilation, ceil_mode } = c.attrs
  return kernel_size.some((k, i) => hasEmptyWindow(c.inputShape[2 + i], k, stride[i], padding[i], dilation[i], ceil_mode))
}

/** A convolution problem drawn by {@link convConfigArb}: input and weight shapes and the conv attrs. */
export interface ConvConfig {
  readonly inputShape: number[]
  readonly weightShape: number[]
  readonly attrs: { readonly stride: number[]; readonly padding: number[]; readonly dilation: number[]; readonly groups: number }
}

/** A valid convolution configuration (groups divide both channel counts; output >= 1). */
export function convConfigArb(dims: 1 | 2 | 3, o: { maxKernel?: number; maxChannels?: number } = {}): fc.Arbitrary<ConvConfig> {
  const maxC = o.maxChannels ?? 3
  const perDim = fc
    .record({
      k: fc.integer({ min: 1, max: o.maxKernel ?? 3 }),
      s: fc.integer({ min: 1, max: 2 }),
      d: fc.integer({ min: 1, max: 2 }),
      p: fc.integer({ min: 0, max: 2 }),
      extra: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ k, s, d, p, extra }) => ({ k, s, d, p, L: Math.max(1, d * (k - 1) + 1 - 2 * p) + extra }))
  return fc
    .record({
      n: fc.integer({ min: 1, max: 2 }),
      groups: fc.integer({ min: 1, max: 2 }),
      cinPerGroup: fc.integer({ min: 1, max: maxC }),
      coutPerGroup: fc.integer({ min: 1, max: maxC }),
      spatial: fc.array(perDim, { minLength: dims, maxLength: dims }),
    })
    .map(({ n, groups, cinPerGroup, coutPerGroup, spatial }) => ({
      inputShape: [n, groups * cinPerGroup, ...spatial.map((x) => x.L)],
      weightShape: [groups * coutPerGroup, cinPerGroup, ...spatial.map((x) => x.k)],
      attrs: {
        stride: spatial.map((x) => x.s),
        padding: spatial.map((x) => x.p),
        dilation: spatial.map((x) => x.d),
        groups,
      },
    }))
}
