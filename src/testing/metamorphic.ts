/**
 * Metamorphic gradient properties of pooling: relations between the gradients at two
 * related inputs that must hold without knowing the right answer. Each property states a
 * numeric precondition, checks it first (status "precondition-failed" when it does not
 * hold, so property tests can discard the case), then compares.
 *
 *   shift        ∇(x + c) = ∇x for max pooling, when x + c (rounded to the dtype) has the
 *                same tie sets as x in every window (no new ties, no NaN)
 *   permutation  ∇(x∘π) = (∇x)∘π for permutations π that keep every window's member set
 *                (within elements that belong to exactly the same windows), when no window
 *                has a tie or the policy is symmetric ("split" / "all")
 *   scaling      ∇(a·x) = ∇x for max pooling and a > 0, when a·x has the same tie sets
 *   mass         Σ grad_in = Σ grad_out for max pooling, when every window has an
 *                in-bounds element, all inputs are finite and the policy is not "all"
 *   divisor      Σ grad_in = Σ_w upstream_w · n_w / divisor_w for avg pooling (n_w the
 *                in-bounds count; the divisor from count_include_pad / ceil_mode /
 *                divisor_override), computed here from the attrs, not from the library
 *
 * The max-pool identities are exact in floating point (the gradient is the same routing
 * of the same upstream values), so they are compared bit for bit by default.
 */
import { gradValues } from "../autodiff/grad.ts"
import { compile } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import { mul } from "../ops/pointwise/index.ts"
import { adaptiveMaxPool1d, adaptiveMaxPool2d, adaptiveMaxPool3d, avgPool1d, avgPool2d, avgPool3d, maxPool1d, maxPool2d, maxPool3d } from "../ops/pool/index.ts"
import type { AdaptiveMaxPoolOptions, AdaptiveSize, AvgPoolOptions, MaxPoolOptions, TiePolicy } from "../ops/pool/index.ts"
import { sum } from "../ops/reduce/index.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import { Random } from "../tensor/random.ts"
import { sizeOf } from "../tensor/shape.ts"
import { tensor, type Tensor } from "../tensor/tensor.ts"
import { maxPoolWindowList, tieSets, type MaxPoolKind, type WindowList } from "../research/windows.ts"
import type { Attrs } from "../graph/types.ts"
import { referencePoolLength } from "./pool-arbitraries.ts"

/** A pooling op under test, with what the properties need to know about its windows. */
export interface PoolSubject {
  readonly name: string
  readonly kind: "max" | "avg"
  /** Applies the pooling op to `x` in a graph and returns its output. */
  apply(x: Value): Value
  /** Member lists of the windows on an input of this shape. */
  windows(inputShape: readonly number[]): WindowList
  /** Max pooling's tie policy. */
  readonly tie: TiePolicy
  /** Avg pooling: each window's in-bounds count n_w and divisor D_w, computed from the attrs. */
  divisors?(inputShape: readonly number[]): { readonly count: number[]; readonly divisor: number[] }
}

/** Options of the metamorphic checks ({@link checkShiftInvariance} and its siblings): dtype, upstream seed, tolerance. */
export interface MetamorphicOptions {
  /** Dtype the op runs in (inputs are rounded to it). Default float64. */
  readonly dtype?: FloatDType
  /** Seed of the random upstream gradient. */
  readonly seed?: number
  /** Allowed absolute difference (scaled by the upstream's size for sums). Default 0 for the exact max identities. */
  readonly tol?: number
}

/** The outcome of one metamorphic check: the property, pass / fail / precondition-failed, the largest error and a detail line. */
export interface MetamorphicReport {
  readonly property: "shift" | "permutation" | "scaling" | "mass" | "divisor"
  readonly status: "pass" | "fail" | "precondition-failed"
  /** status === "pass" */
  readonly ok: boolean
  /** The precondition, and why it failed when it did. */
  readonly precondition: string
  readonly maxError: number
  readonly detail: string
}

const MAXF = { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d } as const
const AMAXF = { 1: adaptiveMaxPool1d, 2: adaptiveMaxPool2d, 3: adaptiveMaxPool3d } as const
const AVGF = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const

/**
 * max_pool{dims}d as a subject.
 *
 * @example
 * checkGradientMass(maxPoolSubject(2, { kernel_size: 2 }), x).ok
 */
export function maxPoolSubject(dims: 1 | 2 | 3, attrs: MaxPoolOptions): PoolSubject {
  return customMaxPoolSubject(`max_pool${dims}d`, (x) => MAXF[dims](x, attrs), `max_pool${dims}d`, attrs as Attrs)
}

/**
 * adaptive_max_pool{dims}d as a subject.
 *
 * @example
 * checkShiftInvariance(adaptiveMaxPoolSubject(1, 3), x, 10).ok
 */
export function adaptiveMaxPoolSubject(dims: 1 | 2 | 3, outputSize: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): PoolSubject {
  const attrs = { output_size: typeof outputSize === "number" ? outputSize : [...outputSize], tie: options.tie ?? "first" }
  return customMaxPoolSubject(`adaptive_max_pool${dims}d`, (x) => AMAXF[dims](x, outputSize, options), `adaptive_max_pool${dims}d`, attrs)
}

/**
 * Any op with a max-pool geometry (e.g. a custom or deliberately wrong max pool): `apply`
 * builds it, `geometry` and `attrs` say which windows it reads.
 *
 * @example
 * customMaxPoolSubject("my_pool", (x) => myPool(x, a), "max_pool1d", a)
 */
export function customMaxPoolSubject(name: string, apply: (x: Value) => Value, geometry: MaxPoolKind, attrs: Attrs): PoolSubject {
  const tie = (attrs.tie ?? "first") as TiePolicy
  return { name, kind: "max", apply, tie, windows: (shape) => maxPoolWindowList(geometry, attrs, shape) }
}

/**
 * avg_pool{dims}d as a subject; `apply` may be overridden to test another implementation
 * against the same attrs.
 *
 * @example
 * checkAvgDivisorIdentity(avgPoolSubject(1, { kernel_size: 3, padding: 1, count_include_pad: false }), x).ok
 */
export function avgPoolSubject(dims: 1 | 2 | 3, attrs: AvgPoolOptions, apply?: (x: Value) => Value): PoolSubject {
  const vec = (v: number | readonly number[] | null | undefined, fallback: number[]): number[] =>
    v === undefined || v === null || (Array.isArray(v) && v.length === 0) ? fallback : typeof v === "number" ? new Array<number>(dims).fill(v) : [...(v as readonly number[])]
  const k = vec(attrs.kernel_size, [])
  const s = vec(attrs.stride, k)
  const p = vec(attrs.padding, new Array<number>(dims).fill(0))
  const ceil = attrs.ceil_mode ?? false
  const includePad = attrs.count_include_pad ?? true
  const override = attrs.divisor_override ?? null
  const geometry = { kernel_size: k, stride: s, padding: p, dilation: k.map(() => 1), ceil_mode: ceil }
  return {
    name: `avg_pool${dims}d`,
    kind: "avg",
    tie: "first",
    apply: apply ?? ((x) => AVGF[dims](x, attrs)),
    windows: (shape) => maxPoolWindowList(`max_pool${dims}d`, geometry, shape),
    divisors: (shape) => {
      const spatial = shape.slice(shape.length - dims)
      const planes = sizeOf(shape.slice(0, shape.length - dims))
      // Per dim and output position: in-bounds count and padded size (window clipped at L + p).
      const perDim = spatial.map((L, d) => {
        const out = referencePoolLength(L, k[d], s[d], p[d], 1, ceil)
        return Array.from({ length: out }, (_, o) => {
          const start = o * s[d] - p[d]
          const end = start + k[d]
          return { n: Math.min(end, L) - Math.max(start, 0), padded: Math.min(end, L + p[d]) - start }
        })
      })
      const count: number[] = []
      const divisor: number[] = []
      const walk = (d: number, n: number, padded: number): void => {
        if (d === dims) {
          count.push(n)
          divisor.push(override ?? (includePad ? padded : n))
          return
        }
        for (const w of perDim[d]) walk(d + 1, n * w.n, padded * w.padded)
      }
      for (let pl = 0; pl < planes; pl++) walk(0, 1, 1)
      return { count, divisor }
    },
  }
}

/**
 * The output and input gradient of a subject at x for upstream u (L = sum(y * u)).
 *
 * @example
 * const { y, gx } = poolGradient(maxPoolSubject(1, { kernel_size: 2 }), x)
 */
export function poolGradient(subject: PoolSubject, x: Tensor, upstream?: Tensor, dtype: FloatDType = "float64"): { y: Tensor; gx: Tensor; upstream: Tensor } {
  const b = new GraphBuilder({ dtype })
  const xv = b.input("x", x.shape)
  const y = subject.apply(xv)
  const u = upstream ?? randomUpstream(y.shape, 1234)
  const [gx] = gradValues(b, sum(mul(y, b.input("u", y.shape))), [xv])
  const [yt, gt] = compile(b.graph, [y, gx]).run({ x: tensor(x.data, x.shape, dtype), u: tensor(u.data, u.shape, dtype) })
  return { y: yt, gx: gt, upstream: u }
}

function randomUpstream(shape: readonly number[], seed: number): Tensor {
  const rng = new Random(seed)
  return tensor(
    Array.from({ length: sizeOf(shape) }, () => rng.uniform(-1, 1)),
    shape,
    "float64",
  )
}

/** x rounded to the dtype, as float64 values. */
function rounded(values: ArrayLike<number>, dtype: FloatDType): Float64Array {
  return Float64Array.from(dtype === "float32" ? Float32Array.from(values as ArrayLike<number>) : (values as ArrayLike<number>))
}

function sameTieSets(a: ArrayLike<number>, b: ArrayLike<number>, w: WindowList): number {
  const ta = tieSets(a, w)
  const tb = tieSets(b, w)
  for (let o = 0; o < ta.length; o++) if (ta[o].join() !== tb[o].join()) return o
  return -1
}

function compare(property: MetamorphicReport["property"], precondition: string, a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): MetamorphicReport {
  let maxError = 0
  let at = -1
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i])
    if (!(e <= maxError)) {
      maxError = Number.isNaN(e) ? Infinity : e
      at = i
    }
  }
  const ok = maxError <= tol
  const detail = ok ? `${what}: max difference ${maxError}` : `${what}: element ${at} differs: ${a[at]} vs ${b[at]} (tolerance ${tol})`
  return { property, status: ok ? "pass" : "fail", ok, precondition, maxError, detail }
}

const skipped = (property: MetamorphicReport["property"], precondition: string): MetamorphicReport => ({
  property,
  status: "precondition-failed",
  ok: false,
  precondition,
  maxError: 0,
  detail: "not checked",
})

function finiteCheck(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false
  return true
}

/**
 * ∇(x + c) = ∇x for max pooling. Precondition: x and x + c are finite and, rounded to the
 * dtype, have the same tie set in every window (adding c can round distinct values together).
 *
 * @example
 * checkShiftInvariance(maxPoolSubject(2, { kernel_size: 2 }), x, 3.5).ok
 */
export function checkShiftInvariance(subject: PoolSubject, x: Tensor, c: number, o: MetamorphicOptions = {}): MetamorphicReport {
  const dtype = o.dtype ?? "float64"
  const x0 = rounded(x.data, dtype)
  const x1 = rounded(Array.from(x0, (v) => v + c), dtype)
  const pre = `x and x + ${c} finite in ${dtype} with the same tie set in every window`
  if (!finiteCheck(x0) || !finiteCheck(x1)) return skipped("shift", `${pre}: non-finite value`)
  const w = subject.windows(x.shape)
  const o1 = sameTieSets(x0, x1, w)
  if (o1 >= 0) return skipped("shift", `${pre}: window ${o1} gains or loses a tie after rounding`)
  const g0 = poolGradient(subject, tensor(x0, x.shape, "float64"), undefined, dtype)
  const g1 = poolGradient(subject, tensor(x1, x.shape, "float64"), g0.upstream, dtype)
  return compare("shift", pre, g0.gx.data, g1.gx.data, o.tol ?? 0, `∇(x + ${c}) vs ∇x`)
}

/**
 * ∇(a·x) = ∇x for max pooling with a > 0. Precondition: a > 0, a·x finite with the same
 * tie sets in the dtype.
 *
 * @example
 * checkPositiveScaling(maxPoolSubject(1, { kernel_size: 3, stride: 2 }), x, 7).ok
 */
export function checkPositiveScaling(subject: PoolSubject, x: Tensor, a: number, o: MetamorphicOptions = {}): MetamorphicReport {
  const dtype = o.dtype ?? "float64"
  const pre = `a = ${a} > 0 and a·x finite in ${dtype} with the same tie set in every window`
  if (!(a > 0)) return skipped("scaling", `${pre}: a is not positive`)
  const x0 = rounded(x.data, dtype)
  const x1 = rounded(Array.from(x0, (v) => a * v), dtype)
  if (!finiteCheck(x0) || !finiteCheck(x1)) return skipped("scaling", `${pre}: non-finite value`)
  const w = subject.windows(x.shape)
  const o1 = sameTieSets(x0, x1, w)
  if (o1 >= 0) return skipped("scaling", `${pre}: window ${o1} changes its tie set`)
  const g0 = poolGradient(subject, tensor(x0, x.shape, "float64"), undefined, dtype)
  const g1 = poolGradient(subject, tensor(x1, x.shape, "float64"), g0.upstream, dtype)
  return compare("scaling", pre, g0.gx.data, g1.gx.data, o.tol ?? 0, `∇(${a}·x) vs ∇x`)
}

/**
 * The permutation of the elements that keeps every window's member set: a random
 * shuffle within each class of elements that belong to exactly the same windows (for
 * non-overlapping windows: within each window). perm[i] is the source of position i.
 */
export function windowPreservingPermutation(w: WindowList, size: number, seed: number): Int32Array {
  const key = new Map<number, number[]>()
  w.members.forEach((m, o) => {
    for (const i of m) {
      const k = key.get(i)
      if (k) k.push(o)
      else key.set(i, [o])
    }
  })
  const classes = new Map<string, number[]>()
  for (const [i, ws] of key) {
    const k = ws.join(",")
    const c = classes.get(k)
    if (c) c.push(i)
    else classes.set(k, [i])
  }
  const perm = Int32Array.from({ length: size }, (_, i) => i)
  const rng = new Random(seed)
  for (const members of classes.values()) {
    const shuffled = [...members]
    rng.shuffle(shuffled)
    members.forEach((i, k) => {
      perm[i] = shuffled[k]
    })
  }
  return perm
}

/**
 * ∇(x∘π) = (∇x)∘π for a permutation π keeping each window's members (see
 * {@link windowPreservingPermutation}). Precondition: finite x, and no tied window unless
 * the tie policy treats tied elements symmetrically (split, all).
 *
 * @example
 * checkWindowPermutationInvariance(maxPoolSubject(2, { kernel_size: 2 }), x).ok
 */
export function checkWindowPermutationInvariance(subject: PoolSubject, x: Tensor, o: MetamorphicOptions & { readonly permSeed?: number } = {}): MetamorphicReport {
  const dtype = o.dtype ?? "float64"
  const x0 = rounded(x.data, dtype)
  const w = subject.windows(x.shape)
  const symmetric = subject.kind === "avg" || subject.tie === "split" || subject.tie === "all"
  const pre = `finite x; permutation keeps every window's members; ${symmetric ? "symmetric tie policy" : "no tied window (the policy picks by position)"}`
  if (!finiteCheck(x0)) return skipped("permutation", `${pre}: non-finite value`)
  if (!symmetric) {
    const tied = tieSets(x0, w).findIndex((T) => T.length > 1)
    if (tied >= 0) return skipped("permutation", `${pre}: window ${tied} has a tie`)
  }
  const perm = windowPreservingPermutation(w, x0.length, o.permSeed ?? 7)
  const xp = Float64Array.from(perm, (src) => x0[src])
  const g0 = poolGradient(subject, tensor(x0, x.shape, "float64"), undefined, dtype)
  const g1 = poolGradient(subject, tensor(xp, x.shape, "float64"), g0.upstream, dtype)
  const expected = Float64Array.from(perm, (src) => g0.gx.data[src])
  return compare("permutation", pre, expected, g1.gx.data, o.tol ?? 0, "∇(x∘π) vs (∇x)∘π")
}

/**
 * Σ grad_in = Σ grad_out for max pooling. Precondition: finite x, every window has an
 * in-bounds element (none lies wholly in padding), and the policy is not "all" on a tied
 * window ("all" hands every tied element the full upstream).
 *
 * @example
 * checkGradientMass(maxPoolSubject(1, { kernel_size: 2, stride: 1 }), x).ok
 */
export function checkGradientMass(subject: PoolSubject, x: Tensor, o: MetamorphicOptions = {}): MetamorphicReport {
  const dtype = o.dtype ?? "float64"
  const x0 = rounded(x.data, dtype)
  const w = subject.windows(x.shape)
  const pre = "finite x, no window wholly in padding, policy not \"all\" on a tied window"
  if (!finiteCheck(x0)) return skipped("mass", `${pre}: non-finite value`)
  const empty = w.members.findIndex((m) => m.length === 0)
  if (empty >= 0) return skipped("mass", `${pre}: window ${empty} lies wholly in padding`)
  if (subject.tie === "all" && tieSets(x0, w).some((T) => T.length > 1)) return skipped("mass", `${pre}: tie "all" with a tied window`)
  const g = poolGradient(subject, tensor(x0, x.shape, "float64"), undefined, dtype)
  let inSum = 0
  let outSum = 0
  let scale = 0
  for (const v of g.gx.data) inSum += v
  for (const v of g.upstream.data) {
    outSum += dtype === "float32" ? Math.fround(v) : v
    scale += Math.abs(v)
  }
  const tol = o.tol ?? (dtype === "float32" ? 1e-5 : 1e-12) * Math.max(1, scale)
  return compare("mass", pre, [inSum], [outSum], tol, "Σ grad_in vs Σ grad_out")
}

/**
 * Σ grad_in = Σ_w u_w · n_w / D_w for avg pooling, with n_w and D_w derived from the attrs
 * in this file. Precondition: a finite upstream (always true for the built-in random one).
 *
 * @example
 * checkAvgDivisorIdentity(avgPoolSubject(2, { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }), x).ok
 */
export function checkAvgDivisorIdentity(subject: PoolSubject, x: Tensor, o: MetamorphicOptions = {}): MetamorphicReport {
  const dtype = o.dtype ?? "float64"
  const pre = "an avg-pool subject and a finite upstream"
  if (subject.divisors === undefined) return skipped("divisor", `${pre}: subject ${subject.name} has no divisors`)
  const g = poolGradient(subject, x, undefined, dtype)
  const { count, divisor } = subject.divisors(x.shape)
  if (count.length !== g.upstream.data.length) return skipped("divisor", `${pre}: ${count.length} windows vs ${g.upstream.data.length} outputs`)
  let inSum = 0
  let want = 0
  let scale = 0
  for (const v of g.gx.data) inSum += v
  g.upstream.data.forEach((u, k) => {
    const uu = dtype === "float32" ? Math.fround(u) : u
    want += (uu * count[k]) / divisor[k]
    scale += Math.abs(uu) * count[k]
  })
  const tol = o.tol ?? (dtype === "float32" ? 1e-5 : 1e-12) * Math.max(1, scale)
  return compare("divisor", pre, [inSum], [want], tol, "Σ grad_in vs Σ_w u_w·n_w/D_w")
}
