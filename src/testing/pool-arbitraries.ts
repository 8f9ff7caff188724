/**
 * fast-check arbitraries of valid pooling problems for every pooling op and dimension:
 * max, avg, lp, adaptive max/avg and max_unpool, 1-d to 3-d. Each case carries its attrs
 * in PyTorch's keyword form, the expected output shape computed here INDEPENDENTLY of the
 * library's geometry (so a property can compare the two), and a function applying the op
 * to a graph value. Inputs come tie-free (distinct values a margin apart, where central
 * differences are valid) or tie-heavy (small integers, where ties are everywhere).
 *
 * Everything shrinks toward a minimal problem: batch 1, one channel, kernel 1, no padding,
 * the shortest input that still has one window.
 *
 * Validity rules (PyTorch's): padding <= floor(kernel / 2); the dilated kernel
 * d(k-1)+1 fits in the padded input L + 2p (output >= 1); with ceil_mode the last window
 * must start inside the input or the left padding, else it is dropped; no dilated window
 * lies wholly in the padding (opt in with allowEmptyWindows); lp pooling has no
 * padding or dilation, avg pooling no dilation; adaptive output sizes may exceed L (bins
 * then repeat elements); max_unpool gets the output and indices of a max pool with
 * non-overlapping windows (stride >= kernel) and restores the input size.
 */
import fc from "fast-check"
import type { Value } from "../graph/builder.ts"
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d, adaptiveMaxPool1d, adaptiveMaxPool2d, adaptiveMaxPool3d, avgPool1d, avgPool2d, avgPool3d, lpPool1d, lpPool2d, lpPool3d, maxPool1d, maxPool1dWithIndices, maxPool2d, maxPool2dWithIndices, maxPool3d, maxPool3dWithIndices, maxUnpool1d, maxUnpool2d, maxUnpool3d, type TiePolicy } from "../ops/pool/index.ts"
import { sizeOf } from "../tensor/shape.ts"
import { tensor, type Tensor } from "../tensor/tensor.ts"

/** Every pooling op family the arbitraries cover. */
export type PoolKind = "max" | "avg" | "lp" | "adaptive_max" | "adaptive_avg" | "unpool"

/** A valid pooling problem. */
export interface PoolCase {
  readonly kind: PoolKind
  readonly dims: 1 | 2 | 3
  /** [N, C, ...spatial] of the op's input (for unpool: of the max pool feeding it). */
  readonly inputShape: readonly number[]
  /** The attrs as passed to the functional API (kernel_size, stride, ..., or output_size). */
  readonly attrs: { readonly [k: string]: number | boolean | null | TiePolicy | readonly (number | null)[] }
  /** The output shape, derived in this file without the library's geometry. */
  readonly expectedShape: readonly number[]
  /** The registry name of the op under test (max_unpool: `max_unpool{d}d`). */
  readonly opName: string
  /** Applies the op (unpool: max pool with indices, then max_unpool back to the input size). */
  apply(x: Value): Value
  /** lp pooling with a non-integer root needs positive window sums: draw positive inputs. */
  readonly positiveInputs: boolean
}

/** Bounds and policies of {@link poolCaseArb}: largest kernel, stride, dilation, batch and channels, tie policy, ceil_mode. */
export interface PoolCaseOptions {
  readonly maxKernel?: number
  readonly maxStride?: number
  readonly maxDilation?: number
  /** Extra input length beyond the minimum one window needs. Default 3. */
  readonly maxExtra?: number
  readonly maxBatch?: number
  readonly maxChannels?: number
  /** max / adaptive_max tie policy (default: PyTorch's "first"). */
  readonly tie?: TiePolicy
  /** Allow ceil_mode (default true). */
  readonly ceilMode?: boolean
  /**
   * Keep max-pool configurations in which a dilated window lies wholly in the padding
   * (PyTorch accepts them; the output there is -inf and L = sum(y * u) is not finite).
   * Default false.
   */
  readonly allowEmptyWindows?: boolean
}

/** True when some window of this dim has no in-bounds position (only possible with dilation). */
export function hasEmptyWindow(L: number, k: number, s: number, p: number, d: number, ceil: boolean): boolean {
  const out = referencePoolLength(L, k, s, p, d, ceil)
  for (let o = 0; o < out; o++) {
    let inside = false
    for (let j = 0; j < k && !inside; j++) {
      const pos = o * s - p + j * d
      inside = pos >= 0 && pos < L
    }
    if (!inside) return true
  }
  return false
}

type Dims = 1 | 2 | 3
const MAX = { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d } as const
const MAX_IDX = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const
const AVG = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const
const LP = { 1: lpPool1d, 2: lpPool2d, 3: lpPool3d } as const
const AMAX = { 1: adaptiveMaxPool1d, 2: adaptiveMaxPool2d, 3: adaptiveMaxPool3d } as const
const AAVG = { 1: adaptiveAvgPool1d, 2: adaptiveAvgPool2d, 3: adaptiveAvgPool3d } as const
const UNPOOL = { 1: maxUnpool1d, 2: maxUnpool2d, 3: maxUnpool3d } as const

/**
 * The pooled length of one dim, written out from PyTorch's rule rather than taken from
 * the library: floor or ceil of (L + 2p - d(k-1) - 1) / s, plus 1; with ceil_mode a last
 * window starting at or beyond L + p (wholly in the right padding) is dropped.
 *
 * @example
 * referencePoolLength(5, 2, 2, 1, 1, true) // 3: ceil(5/2) + 1 = 4, but window 3 would start at 3*2 - 1 = 5 = L, in the right padding
 */
export function referencePoolLength(L: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = L + 2 * p - d * (k - 1) - 1
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1
  if (ceil && (out - 1) * s >= L + p) out -= 1
  return out
}

interface Axis {
  k: number
  s: number
  p: number
  d: number
  L: number
}

function axisArb(o: PoolCaseOptions, padding: boolean, dilation: boolean): fc.Arbitrary<Axis> {
  return fc
    .record({
      k: fc.integer({ min: 1, max: o.maxKernel ?? 3 }),
      s: fc.integer({ min: 1, max: o.maxStride ?? 3 }),
      d: fc.integer({ min: 1, max: dilation ? (o.maxDilation ?? 2) : 1 }),
      p: fc.integer({ min: 0, max: padding ? 2 : 0 }),
      extra: fc.integer({ min: 0, max: o.maxExtra ?? 3 }),
    })
    .map(({ k, s, d, p, extra }) => {
      const pad = Math.min(p, Math.floor(k / 2)) // PyTorch: padding <= kernel / 2
      return { k, s, d, p: pad, L: Math.max(1, d * (k - 1) + 1 - 2 * pad) + extra } // output >= 1
    })
}

const leadArb = (o: PoolCaseOptions) => fc.tuple(fc.integer({ min: 1, max: o.maxBatch ?? 2 }), fc.integer({ min: 1, max: o.maxChannels ?? 2 }))

/**
 * A valid configuration of pooling op `kind` in `dims` spatial dims.
 *
 * @example
 * fc.assert(fc.property(poolCaseArb("max", 2), (c) => c.expectedShape.every((d) => d >= 1)))
 */
export function poolCaseArb(kind: PoolKind, dims: Dims, o: PoolCaseOptions = {}): fc.Arbitrary<PoolCase> {
  const ceilArb = o.ceilMode === false ? fc.constant(false) : fc.boolean()
  if (kind === "adaptive_max" || kind === "adaptive_avg") {
    const sizes = fc.array(
      fc.record({ L: fc.integer({ min: 1, max: 2 + (o.maxExtra ?? 3) }), out: fc.integer({ min: 1, max: 4 }), keep: fc.boolean() }),
      { minLength: dims, maxLength: dims },
    )
    return fc.tuple(leadArb(o), sizes).map(([[n, c], ax]) => {
      const output_size = ax.map((a) => (a.keep ? null : a.out))
      const attrs = { output_size, ...(kind === "adaptive_max" ? { tie: o.tie ?? "first" } : {}) }
      return {
        kind,
        dims,
        inputShape: [n, c, ...ax.map((a) => a.L)],
        attrs,
        expectedShape: [n, c, ...ax.map((a) => (a.keep ? a.L : a.out))],
        opName: `${kind}_pool${dims}d`,
        positiveInputs: false,
        apply: (x: Value) => (kind === "adaptive_max" ? AMAX[dims](x, output_size, { tie: o.tie ?? "first" }) : AAVG[dims](x, output_size)),
      }
    })
  }
  const padding = kind !== "lp"
  const dilation = kind === "max"
  const extra =
    kind === "avg"
      ? fc.record({ count_include_pad: fc.boolean(), divisor_override: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }) })
      : kind === "lp"
        ? fc.record({ norm_type: fc.constantFrom(1, 2, 3) })
        : fc.constant({})
  return fc
    .tuple(leadArb(o), fc.array(axisArb(o, padding, dilation), { minLength: dims, maxLength: dims }), kind === "unpool" ? fc.constant(false) : ceilArb, extra)
    .filter(([, ax, ceil]) => o.allowEmptyWindows === true || !ax.some((a) => hasEmptyWindow(a.L, a.k, a.s, a.p, a.d, ceil)))
    .map(([[n, c], ax, ceil, more]) => {
      const base = {
        kernel_size: ax.map((a) => a.k),
        stride: ax.map((a) => a.s),
        ...(padding ? { padding: ax.map((a) => a.p) } : {}),
        ...(dilation ? { dilation: ax.map((a) => a.d) } : {}),
        ceil_mode: ceil,
      }
      const inputShape = [n, c, ...ax.map((a) => a.L)]
      const pooled = ax.map((a) => referencePoolLength(a.L, a.k, a.s, a.p, a.d, ceil))
      if (kind === "unpool") {
        // stride >= kernel: non-overlapping windows, where max_unpool is the inverse it is
        // meant to be. With overlap one input can win two windows; unpool then writes it
        // once but (PyTorch's rule) its gradient gathers for both, so the composite's
        // analytic gradient is not the derivative of its forward.
        const stride = ax.map((a) => Math.max(a.s, a.k))
        const poolAttrs = { kernel_size: base.kernel_size, stride, padding: base.padding ?? [] }
        return {
          kind,
          dims,
          inputShape,
          attrs: { ...poolAttrs, output_size: ax.map((a) => a.L) },
          // max_unpool back to the input size (valid: L lies in (default - s, default + s) for undilated floor-mode pools)
          expectedShape: inputShape,
          opName: `max_unpool${dims}d`,
          positiveInputs: false,
          apply: (x: Value) => {
            const { y, indices } = MAX_IDX[dims](x, poolAttrs)
            return UNPOOL[dims](y, indices, { ...poolAttrs, output_size: ax.map((a) => a.L) })
          },
        }
      }
      const attrs = { ...base, ...more, ...(kind === "max" ? { tie: o.tie ?? "first" } : {}) }
      return {
        kind,
        dims,
        inputShape,
        attrs,
        expectedShape: [n, c, ...pooled],
        opName: `${kind === "max" ? "max" : kind === "avg" ? "avg" : "lp"}_pool${dims}d`,
        positiveInputs: kind === "lp",
        apply: (x: Value) => {
          if (kind === "max") return MAX[dims](x, { ...base, tie: o.tie ?? "first" })
          if (kind === "avg") return AVG[dims](x, { ...base, ...(more as { count_include_pad: boolean; divisor_override: number | null }) })
          return LP[dims](x, { ...base, norm_type: (more as { norm_type: number }).norm_type })
        },
      }
    })
}

/** How input values are drawn. */
export type PoolValues = "tie-free" | "tie-heavy"

/**
 * Input values for a pooling problem. `tie-free`: pairwise distinct float64 values at
 * least `margin` apart (no window has a tie, no value is within a difference step of
 * another); `tie-heavy`: integers in [-2, 2] (or [0, 3] for positive inputs).
 *
 * @example
 * poolInputArb([1, 1, 4], "tie-free") // e.g. [0.03, -0.01, 0.12, 0]
 */
export function poolInputArb(shape: readonly number[], values: PoolValues, o: { margin?: number; positive?: boolean } = {}): fc.Arbitrary<Tensor> {
  const n = sizeOf(shape)
  if (values === "tie-heavy") {
    return fc.array(fc.integer({ min: o.positive ? 0 : -2, max: o.positive ? 3 : 2 }), { minLength: n, maxLength: n }).map((v) => tensor(v, shape, "float64"))
  }
  const margin = o.margin ?? 0.01
  const span = Math.max(2 * n, 100)
  return fc
    .uniqueArray(fc.integer({ min: o.positive ? 1 : -span, max: o.positive ? 2 * span : span }), { minLength: n, maxLength: n })
    .map((v) => tensor(v.map((k) => k * margin), shape, "float64"))
}

/** A pooling problem with its input. */
export interface PoolProblem {
  readonly config: PoolCase
  readonly x: Tensor
}

/**
 * A valid pooling problem and an input for it, both shrinking together.
 *
 * @example
 * fc.assert(fc.property(poolProblemArb("max", 1, "tie-heavy"), ({ config, x }) =>
 *   checkTieAwareGradients(({ x }) => config.apply(x), { x }).ok))
 */
export function poolProblemArb(kind: PoolKind, dims: Dims, values: PoolValues, o: PoolCaseOptions & { margin?: number } = {}): fc.Arbitrary<PoolProblem> {
  return poolCaseArb(kind, dims, o).chain((config) =>
    poolInputArb(config.inputShape, values, { margin: o.margin, positive: config.positiveInputs }).map((x) => ({ config, x })),
  )
}
