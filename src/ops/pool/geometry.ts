/**
 * Pooling window geometry, N-d, in one place: attribute normalisation, the output-size
 * formula (with PyTorch's ceil_mode correction), window extents and divisors, adaptive
 * bins, max_unpool sizes, and errors that show the derivation. Every pooling op and
 * kernel takes its windows from here.
 *
 * Per spatial dim with input size L, kernel k, stride s, padding p, dilation d:
 *
 *     out = floor((L + 2p - d(k-1) - 1) / s) + 1            ceil_mode = false
 *     out = ceil((L + 2p - d(k-1) - 1) / s) + 1             ceil_mode = true,
 *           then out -= 1 if (out - 1) * s >= L + p          (last window would start in the right padding)
 *
 * and window o covers positions o*s - p + j*d, j = 0..k-1 (outside [0, L) is padding).
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { unitAxis, type WindowAxis, type Windows } from "../../kernels/pool/windows.ts"
import type { Shape } from "../../tensor/shape.ts"
import { booleanAttr, spatialParam } from "../attrs.ts"

/** An int for every spatial dim, or one int for all of them (PyTorch's `_ntuple`). */

/**
 * Which of several tied maxima a max pool routes the gradient to. `first` (default) is
 * PyTorch: the lowest flat index. `last`: the highest. `split`: each tied maximum gets an
 * equal share. `all`: each gets the full upstream value.
 */
export type TiePolicy = "first" | "last" | "split" | "all"

/**
 * NaN in a max-pool window. `propagate` (default) is PyTorch: the output is NaN and the
 * index the window's last NaN. `ignore`: NaN is skipped; a window of only NaN gives NaN
 * with no gradient (index -1).
 */
export type NanPolicy = "propagate" | "ignore"

/** Window parameters shared by max, avg and lp pooling, one entry per spatial dim. */
export type PoolParams = {
  kernel_size: number[]
  stride: number[]
  padding: number[]
  dilation: number[]
  ceil_mode: boolean
}

const DIM_NAMES: { readonly [dims: number]: readonly string[] } = { 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"] }

/** Name of spatial dim i of a `dims`-d pool, for messages. */
export function spatialName(dims: number, i: number): string {
  return DIM_NAMES[dims]?.[i] ?? `#${i}`
}



export function tiePolicy(v: unknown): TiePolicy {
  if (v === undefined || v === null) return "first"
  if (v === "first" || v === "last" || v === "split" || v === "all") return v
  throw new AttrError(`tie = ${JSON.stringify(v)} (expected "first" (PyTorch), "last", "split" or "all")`)
}

export function nanPolicy(v: unknown): NanPolicy {
  if (v === undefined || v === null) return "propagate"
  if (v === "propagate" || v === "ignore") return v
  throw new AttrError(`nan = ${JSON.stringify(v)} (expected "propagate" (PyTorch) or "ignore")`)
}

/**
 * Normalises kernel_size / stride / padding / dilation / ceil_mode. stride omitted, null or
 * [] means kernel_size (PyTorch's `stride=None`). Enforces PyTorch's rule padding <= k/2
 * (integer division), so every window keeps at least half a kernel of real input.
 */
export function poolParams(
  raw: { kernel_size?: unknown; stride?: unknown; padding?: unknown; dilation?: unknown; ceil_mode?: unknown },
  dims: number,
  has: { padding: boolean; dilation: boolean },
): PoolParams {
  const kernel = spatialParam(raw.kernel_size, dims, "kernel_size", 1)
  const noStride = raw.stride === undefined || raw.stride === null || (Array.isArray(raw.stride) && raw.stride.length === 0)
  const stride = noStride ? kernel : spatialParam(raw.stride, dims, "stride", 1)
  const padding = has.padding ? spatialParam(raw.padding, dims, "padding", 0, new Array<number>(dims).fill(0)) : new Array<number>(dims).fill(0)
  const dilation = has.dilation ? spatialParam(raw.dilation, dims, "dilation", 1, new Array<number>(dims).fill(1)) : new Array<number>(dims).fill(1)
  padding.forEach((p, i) => {
    if (p > Math.floor(kernel[i] / 2)) {
      throw new AttrError(
        `padding ${p} in spatial dim ${i} (${spatialName(dims, i)}) is more than half the kernel size ${kernel[i]} (expected padding <= floor(kernel_size / 2) = ${Math.floor(kernel[i] / 2)}, as PyTorch requires)`,
      )
    }
  })
  return { kernel_size: kernel, stride, padding, dilation, ceil_mode: booleanAttr(raw.ceil_mode, "ceil_mode", false) }
}

/**
 * The pooled size of one dim (may be < 1 for a kernel that does not fit; {@link poolOutputShape}
 * turns that into an error). PyTorch's pooling_output_shape, including the ceil_mode
 * correction that drops a last window starting in the right padding.
 *
 * @example
 * poolOutputSize(6, 2, 4, 1, 1, true) // 2: ceil(6/4)+1 = 3, but window 2 would start at 8 - 1 = 7 >= 6 + 1
 */
export function poolOutputSize(L: number, k: number, s: number, p: number, d: number, ceilMode: boolean): number {
  const span = L + 2 * p - d * (k - 1) - 1
  let out = Math.floor((span + (ceilMode ? s - 1 : 0)) / s) + 1
  if (ceilMode && (out - 1) * s >= L + p) out--
  return out
}

/** The formula of {@link poolOutputSize} with the numbers filled in, for messages and {@link explainPoolShape}. */
export function derivePoolOutputSize(L: number, k: number, s: number, p: number, d: number, ceilMode: boolean): string {
  const span = L + 2 * p - d * (k - 1) - 1
  const f = ceilMode ? "ceil" : "floor"
  const raw = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1
  let text = `${f}((${L} + 2*${p} - ${d}*(${k}-1) - 1) / ${s}) + 1 = ${f}(${span}/${s}) + 1 = ${raw}`
  if (ceilMode && raw >= 1 && (raw - 1) * s >= L + p) {
    text += `; the last window would start at ${raw - 1}*${s} - ${p} = ${(raw - 1) * s - p} >= L = ${L}, inside the right padding, so it is dropped: ${raw - 1}`
  }
  return text
}

/** Splits an input shape into leading dims (N, C or just C) and the `dims` spatial sizes. */
export function splitPoolInput(x: TensorSpec, dims: number, name = "x"): { lead: number[]; spatial: number[] } {
  const layout = ["D", "H", "W"].slice(3 - dims).join(", ")
  if (x.dtype === "int32") throw new ShapeError(`input '${name}' is int32 (expected a float tensor)`)
  if (x.shape.length !== dims + 1 && x.shape.length !== dims + 2) {
    const L = dims === 1 ? "L" : layout
    throw new ShapeError(`${name} ${showShape(x.shape)} has rank ${x.shape.length} (expected rank ${dims + 2} (N, C, ${L}) or ${dims + 1} (C, ${L}))`)
  }
  const lead = x.shape.slice(0, x.shape.length - dims)
  const spatial = x.shape.slice(x.shape.length - dims)
  // as PyTorch: only the batch dim may be 0 ("optional 0 dim batch size")
  if (lead[lead.length - 1] < 1) throw new ShapeError(`${name} ${showShape(x.shape)} has 0 channels (expected a non-zero size in every dim but the batch dim)`)
  spatial.forEach((L, i) => {
    if (L < 1) throw new ShapeError(`${name} ${showShape(x.shape)} has size ${L} in spatial dim ${i} (expected >= 1)`)
  })
  return { lead: [...lead], spatial: [...spatial] }
}

/**
 * The output shape of max/avg/lp pooling of an input of `inputShape` ([N, C, ...spatial]
 * or [C, ...spatial]); throws a ShapeError showing the derivation when a dim would be
 * empty.
 *
 * @example
 * poolOutputShape([32, 64, 56, 56], { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false })
 * // [32, 64, 28, 28]
 */
export function poolOutputShape(inputShape: Shape, params: PoolParams): number[] {
  const dims = params.kernel_size.length
  const { lead, spatial } = splitPoolInput({ shape: inputShape, dtype: "float64" }, dims)
  const out = spatial.map((L, i) => {
    const [k, s, p, d] = [params.kernel_size[i], params.stride[i], params.padding[i], params.dilation[i]]
    const o = poolOutputSize(L, k, s, p, d, params.ceil_mode)
    if (o < 1) {
      throw new ShapeError(
        `pooling gives output size ${o} in spatial dim ${i} (${spatialName(dims, i)}): ${derivePoolOutputSize(L, k, s, p, d, params.ceil_mode)} (expected >= 1: the kernel extent d*(k-1)+1 = ${d * (k - 1) + 1} must fit in the padded input L + 2p = ${L + 2 * p})`,
      )
    }
    return o
  })
  return [...lead, ...out]
}

/** Options of {@link explainPoolShape} for average pooling's divisors, and printing. */
export interface ExplainPoolOptions {
  /** Also derive avg pooling's divisor at each border (count_include_pad as in avg_pool). */
  readonly avg?: { readonly count_include_pad?: boolean; readonly divisor_override?: number | null }
  /** Print the explanation (to console.log, or to the given function) as well as returning it. */
  readonly print?: boolean | ((text: string) => void)
}

/**
 * The per-dimension derivation of a pooling output shape, as text: the effective kernel
 * d(k-1)+1, the floor/ceil formula with the numbers filled in, whether the ceil_mode
 * correction fired and why, and (with `avg`) the divisor of the first, interior and last
 * window of each dimension. Attrs are PyTorch's (an int or a tuple per spatial param,
 * stride defaulting to kernel_size). Invalid configurations fail with the same derivation
 * in their error message.
 *
 * @example
 * explainPoolShape([1, 1, 6], { kernel_size: 2, stride: 4, padding: 1, ceil_mode: true }, { print: true })
 * // L: L=6 k=2 s=4 p=1 d=1: effective kernel 1*(2-1)+1 = 2; ceil((6 + 2*1 - 1*(2-1) - 1) / 4) + 1 = ceil(6/4) + 1 = 3;
 * //    the last window would start at 2*4 - 1 = 7 >= L = 6, inside the right padding, so it is dropped: 2
 */
export function explainPoolShape(
  inputShape: Shape,
  attrs: { kernel_size: number | readonly number[]; stride?: number | readonly number[] | null; padding?: number | readonly number[]; dilation?: number | readonly number[]; ceil_mode?: boolean },
  options: ExplainPoolOptions = {},
): string {
  const dims = typeof attrs.kernel_size === "number" ? Math.max(1, inputShape.length - 2) : attrs.kernel_size.length
  const params = poolParams(attrs, dims, { padding: true, dilation: options.avg === undefined })
  const { lead, spatial } = splitPoolInput({ shape: inputShape, dtype: "float64" }, dims)
  const lines = [`input ${showShape(inputShape)}: leading dims ${showShape(lead)} are kept; per spatial dim out = ${params.ceil_mode ? "ceil" : "floor"}((L + 2p - d(k-1) - 1) / s) + 1`]
  spatial.forEach((L, i) => {
    const [k, s, p, d] = [params.kernel_size[i], params.stride[i], params.padding[i], params.dilation[i]]
    let line = `  ${spatialName(dims, i)}: L=${L} k=${k} s=${s} p=${p} d=${d}: effective kernel ${d}*(${k}-1)+1 = ${d * (k - 1) + 1}; ${derivePoolOutputSize(L, k, s, p, d, params.ceil_mode)}`
    const out = poolOutputSize(L, k, s, p, d, params.ceil_mode)
    if (params.ceil_mode && out >= 1 && !line.includes("so it is dropped")) {
      line += `; the last window starts at ${out - 1}*${s} - ${p} = ${(out - 1) * s - p} < L = ${L}, so no correction`
    }
    lines.push(line)
    if (options.avg !== undefined && out >= 1) lines.push(`     ${avgDivisors(L, k, s, p, out, options.avg)}`)
  })
  lines.push(`output ${showShape(poolOutputShape(inputShape, params))}`)
  const text = lines.join("\n")
  if (options.print === true) console.log(text)
  else if (typeof options.print === "function") options.print(text)
  return text
}

/** The avg-pool divisor factor of the first, interior and last window of one dim. */
function avgDivisors(L: number, k: number, s: number, p: number, out: number, avg: NonNullable<ExplainPoolOptions["avg"]>): string {
  if (avg.divisor_override !== undefined && avg.divisor_override !== null) return `divisor: divisor_override = ${avg.divisor_override} for every window`
  const includePad = avg.count_include_pad ?? true
  const factor = (o: number): number => {
    const w = poolWindow(o, L, k, s, p, 1)
    return includePad ? w.poolSize : w.count
  }
  const rule = includePad ? "count_include_pad: window size, padding counted, clipped at the right padding" : "in-bounds elements only"
  const parts = [`first ${factor(0)}`]
  if (out > 2) parts.push(`interior ${k}`)
  if (out > 1) parts.push(`last ${factor(out - 1)}`)
  return `divisor factor (${rule}): ${parts.join(", ")}; a window's divisor is the product over dims`
}

/** Window o of one dim: its nominal extent [start, end), PyTorch's avg pool_size, and its in-bounds positions. */
export interface PoolWindow {
  /** o*s - p: the first (possibly padded) position. */
  readonly start: number
  /** start + d*(k-1) + 1: one past the last position. */
  readonly end: number
  /** min(end, L + p) - start: the avg-pool count_include_pad divisor factor (excludes what lies beyond the right padding). */
  readonly poolSize: number
  /** First in-bounds position (start advanced by whole dilation steps). */
  readonly first: number
  /** Number of in-bounds positions (0 only for a dilated window entirely in padding). */
  readonly count: number
}

/**
 * Window o along one dim.
 *
 * @example
 * poolWindow(0, 5, 3, 2, 1, 1) // { start: -1, end: 2, poolSize: 3, first: 0, count: 2 }
 */
export function poolWindow(o: number, L: number, k: number, s: number, p: number, d: number): PoolWindow {
  const start = o * s - p
  const end = start + d * (k - 1) + 1
  // positions start + j*d, j in [jlo, jhi): jlo skips the left padding, jhi stops before L
  const jlo = start < 0 ? Math.ceil(-start / d) : 0
  const jhi = Math.min(k, Math.ceil((L - start) / d))
  return { start, end, poolSize: Math.min(end, L + p) - start, first: start + jlo * d, count: Math.max(0, jhi - jlo) }
}

/**
 * Bin i of adaptive pooling of L inputs to O outputs: [floor(i*L/O), ceil((i+1)*L/O)).
 *
 * @example
 * adaptiveBin(1, 10, 4) // { start: 2, end: 5 }
 */
export function adaptiveBin(i: number, L: number, O: number): { start: number; end: number } {
  return { start: Math.floor((i * L) / O), end: Math.ceil(((i + 1) * L) / O) }
}

/**
 * What a pooling family (avg-type, max-type) is made from: one op per dimension count,
 * each with its attrs normaliser, output shape and window tables; the families add their
 * own fields (divisor override, fast paths).
 */
export interface PoolFamilySpec<RawA, A> {
  readonly name: string
  readonly dims: 1 | 2 | 3
  readonly doc: string
  attrs(raw: RawA): A
  /** Full output shape for an input shape (throws ShapeError when it cannot pool). */
  outputShape(x: Shape, a: A): number[]
  windows(x: Shape, a: A): Windows
}

/** Window tables for max/avg/lp pooling. `includePad`: avg's count_include_pad divisor; else the in-bounds count. */
export function poolWindows(inputShape: Shape, params: PoolParams, includePad: boolean): Windows {
  const dims = params.kernel_size.length
  const spatial = inputShape.slice(inputShape.length - dims)
  const axes = spatial.map((L, i) => {
    const [k, s, p, d] = [params.kernel_size[i], params.stride[i], params.padding[i], params.dilation[i]]
    const out = poolOutputSize(L, k, s, p, d, params.ceil_mode)
    const ax = newAxis(L, out, d)
    for (let o = 0; o < out; o++) {
      const w = poolWindow(o, L, k, s, p, d)
      ax.first[o] = w.first
      ax.count[o] = w.count
      ax.divisor[o] = includePad ? w.poolSize : w.count
    }
    return ax
  })
  return canonical(inputShape, dims, axes)
}

/** Window tables of adaptive pooling to `outputSize` (resolved: no nulls). */
export function adaptiveWindows(inputShape: Shape, outputSize: readonly number[]): Windows {
  const dims = outputSize.length
  const spatial = inputShape.slice(inputShape.length - dims)
  const axes = spatial.map((L, i) => {
    const O = outputSize[i]
    const ax = newAxis(L, O, 1)
    for (let o = 0; o < O; o++) {
      const { start, end } = adaptiveBin(o, L, O)
      ax.first[o] = start
      ax.count[o] = end - start
      ax.divisor[o] = end - start
    }
    return ax
  })
  return canonical(inputShape, dims, axes)
}

type MutableAxis = { inSize: number; outSize: number; first: Int32Array; count: Int32Array; step: number; divisor: Float64Array }

function newAxis(L: number, out: number, step: number): MutableAxis {
  return { inSize: L, outSize: out, first: new Int32Array(out), count: new Int32Array(out), step, divisor: new Float64Array(out) }
}

function canonical(inputShape: Shape, dims: number, axes: WindowAxis[]): Windows {
  let planes = 1
  for (let i = 0; i < inputShape.length - dims; i++) planes *= inputShape[i]
  const padded = [...new Array<WindowAxis>(3 - dims).fill(unitAxis), ...axes]
  return { planes, axes: [padded[0], padded[1], padded[2]] }
}

/** Adaptive output_size: an int, or one int (or null = keep the input size) per spatial dim. */
export function adaptiveOutputSizeAttr(v: unknown, dims: number): (number | null)[] {
  const expected = `an integer >= 1 or an array of ${dims} integers >= 1 (or null to keep that input size)`
  const list = typeof v === "number" ? new Array<number>(dims).fill(v) : v
  if (!Array.isArray(list) || list.length !== dims || list.some((d) => d !== null && (typeof d !== "number" || !Number.isInteger(d) || d < 1))) {
    throw new AttrError(`output_size = ${JSON.stringify(v)} (expected ${expected})`)
  }
  return list.map((d: number | null) => d)
}

/** The resolved adaptive output spatial sizes (null entries take the input size). */
export function resolveAdaptiveSize(inputShape: Shape, outputSize: readonly (number | null)[]): number[] {
  const dims = outputSize.length
  const spatial = inputShape.slice(inputShape.length - dims)
  return outputSize.map((o, i) => o ?? spatial[i])
}

/**
 * The output shape of adaptive pooling: the leading dims, then output_size.
 *
 * @example
 * adaptiveOutputShape([2, 3, 7, 9], [3, null]) // [2, 3, 3, 9]
 */
export function adaptiveOutputShape(inputShape: Shape, outputSize: readonly (number | null)[]): number[] {
  const { lead } = splitPoolInput({ shape: inputShape, dtype: "float64" }, outputSize.length)
  return [...lead, ...resolveAdaptiveSize(inputShape, outputSize)]
}

/** max_unpool's default output size of one dim: (L - 1)*s - 2p + k. */
export function unpoolDefaultSize(L: number, k: number, s: number, p: number): number {
  return (L - 1) * s - 2 * p + k
}

/**
 * max_unpool's output spatial sizes: the default (L-1)*s - 2p + k, or output_size, which
 * must lie strictly between default - s and default + s in every dim (PyTorch's rule).
 *
 * @example
 * unpoolOutputSize([4], { kernel_size: [2], stride: [2], padding: [0] }, [9]) // [9]
 */
export function unpoolOutputSize(spatial: readonly number[], a: { kernel_size: number[]; stride: number[]; padding: number[] }, outputSize: readonly number[] | null): number[] {
  const dims = spatial.length
  return spatial.map((L, i) => {
    const [k, s, p] = [a.kernel_size[i], a.stride[i], a.padding[i]]
    const def = unpoolDefaultSize(L, k, s, p)
    if (outputSize === null) {
      if (def < 1) throw new ShapeError(`max_unpool output size in spatial dim ${i} (${spatialName(dims, i)}) is (L-1)*s - 2p + k = (${L}-1)*${s} - 2*${p} + ${k} = ${def} (expected >= 1)`)
      return def
    }
    const o = outputSize[i]
    if (!(def - s < o && o < def + s) || o < 1) {
      throw new ShapeError(
        `output_size ${showShape(outputSize)} has ${o} in spatial dim ${i} (${spatialName(dims, i)}) (expected strictly between default - s = ${def - s} and default + s = ${def + s}, where default = (L-1)*s - 2p + k = (${L}-1)*${s} - 2*${p} + ${k} = ${def})`,
      )
    }
    return o
  })
}
