/**
 * Smooth maxima over pooling windows: LogSumExp pooling and SoftPool, 1-3d. Both tend to
 * max pooling as the temperature T goes to 0 and are differentiable everywhere with finite
 * inputs, so they have no tie rule: tied maxima get equal weights, which is what `split`
 * max pooling does at a tie (their T -> 0 limit).
 *
 *   lse_pool{d}d      y = T log( (1/n) Σ_i exp(x_i / T) )         (Pinheiro & Collobert, 2015)
 *                     ∂y/∂x_i = softmax(x / T)_i
 *   soft_pool{d}d     y = Σ_i w_i x_i,  w = softmax(x / T)         (Stergiou et al., 2021; T = 1 there)
 *                     ∂y/∂x_i = w_i (1 + (x_i - y) / T)
 *
 * n is the number of in-bounds window members (padding takes no part). Both are computed
 * with the window maximum subtracted first, so no exp overflows. Non-finite inputs: a NaN
 * member makes y and every member's gradient NaN; if the maximum is +inf (or every member
 * is -inf), y is that infinity and the gradient is shared equally by the members equal to
 * it (the T -> 0 limit). The gradient is a graph node (`*_backward`, reading x, y and the
 * upstream) with a gradient rule of its own, `*_backward_backward` (double backward; see
 * smoothDoubleBackward for the formulas), which has none (no third derivative).
 */
import type { Value } from "../../graph/builder.ts"
import { defineOp } from "../../graph/op.ts"
import { positiveAttr, windowMembers, windowOutputShape, windowParams, type WindowPoolOptions } from "./windows.ts"
import type { PoolParams } from "../pool/geometry.ts"
import { requireFloat } from "../attrs.ts"

/** Options of lse_pool / soft_pool: the window geometry and the temperature T (default 1). */
export interface SmoothPoolOptions extends WindowPoolOptions {
  readonly temperature?: number
}

type SmoothAttrs = PoolParams & { temperature: number }

type Rule = "lse" | "soft"

/** Window softmax weights of x/T into w (length = members); returns the window max. */
function softmaxWeights(x: ArrayLike<number>, m: Int32Array, T: number, w: Float64Array): number {
  let max = -Infinity
  let nan = false
  for (let k = 0; k < m.length; k++) {
    const v = x[m[k]]
    if (v !== v) nan = true
    else if (v > max) max = v
  }
  if (nan) {
    w.fill(NaN, 0, m.length)
    return NaN
  }
  if (!Number.isFinite(max)) {
    let count = 0
    for (let k = 0; k < m.length; k++) if (x[m[k]] === max) count++
    for (let k = 0; k < m.length; k++) w[k] = x[m[k]] === max ? 1 / count : 0
    return max
  }
  let total = 0
  for (let k = 0; k < m.length; k++) {
    const e = Math.exp((x[m[k]] - max) / T)
    w[k] = e
    total += e
  }
  for (let k = 0; k < m.length; k++) w[k] /= total
  return max
}

function smoothForward(rule: Rule, x: ArrayLike<number>, shape: readonly number[], a: SmoothAttrs, y: { [i: number]: number }): void {
  const wl = windowMembers(shape, a)
  const w = new Float64Array(wl.members.reduce((n, m) => Math.max(n, m.length), 0))
  wl.members.forEach((m, o) => {
    const max = softmaxWeights(x, m, a.temperature, w)
    if (!Number.isFinite(max)) {
      y[o] = max
      return
    }
    if (rule === "lse") {
      let total = 0
      for (let k = 0; k < m.length; k++) total += Math.exp((x[m[k]] - max) / a.temperature)
      y[o] = max + a.temperature * Math.log(total / m.length)
    } else {
      let s = 0
      for (let k = 0; k < m.length; k++) s += w[k] * x[m[k]]
      y[o] = s
    }
  })
}

function smoothBackward(rule: Rule, x: ArrayLike<number>, shape: readonly number[], y: ArrayLike<number>, gy: ArrayLike<number>, a: SmoothAttrs, gx: { [i: number]: number }): void {
  const wl = windowMembers(shape, a)
  const w = new Float64Array(wl.members.reduce((n, m) => Math.max(n, m.length), 0))
  wl.members.forEach((m, o) => {
    const max = softmaxWeights(x, m, a.temperature, w)
    for (let k = 0; k < m.length; k++) {
      const d = rule === "lse" || !Number.isFinite(max) ? w[k] : w[k] * (1 + (x[m[k]] - y[o]) / a.temperature)
      gx[m[k]] += gy[o] * d
    }
  })
}

/**
 * The backward op's gradient, treating its inputs x, y and gy as independent (the grad
 * transform chains y back to x through the forward op). Per window o, with w = softmax(x/T),
 * G the upstream of gx, B = Σ_i G_i w_i, c_i = 1 + (x_i - y)/T and A = Σ_i G_i w_i c_i:
 *
 *   lse   gx_i = gy w_i:        dgy = B,  dx_j = (gy/T) w_j (G_j - B),                 dy = 0
 *   soft  gx_i = gy w_i c_i:    dgy = A,  dx_j = (gy/T) w_j (G_j (c_j + 1) - A),       dy = -(gy/T) B
 *
 * (from ∂w_i/∂x_j = w_i (δ_ij - w_j)/T). Where the window max is ±inf the backward's weights
 * are constant in x, so dx = dy = 0 and dgy = B; a NaN window gives NaN.
 */
function smoothDoubleBackward(
  rule: Rule,
  x: ArrayLike<number>,
  shape: readonly number[],
  y: ArrayLike<number>,
  gy: ArrayLike<number>,
  G: ArrayLike<number>,
  a: SmoothAttrs,
  out: { dx: { [i: number]: number }; dy: { [i: number]: number }; dgy: { [i: number]: number } },
): void {
  const T = a.temperature
  const wl = windowMembers(shape, a)
  const w = new Float64Array(wl.members.reduce((n, m) => Math.max(n, m.length), 0))
  wl.members.forEach((m, o) => {
    const max = softmaxWeights(x, m, T, w)
    let B = 0
    for (let k = 0; k < m.length; k++) B += G[m[k]] * w[k]
    if (!Number.isFinite(max)) {
      out.dgy[o] = B
      if (max !== max) for (let k = 0; k < m.length; k++) out.dx[m[k]] = NaN
      return
    }
    const g = gy[o] / T
    if (rule === "lse") {
      out.dgy[o] = B
      for (let k = 0; k < m.length; k++) out.dx[m[k]] += g * w[k] * (G[m[k]] - B)
      return
    }
    let A = 0
    for (let k = 0; k < m.length; k++) A += G[m[k]] * w[k] * (1 + (x[m[k]] - y[o]) / T)
    out.dgy[o] = A
    out.dy[o] = -g * B
    for (let k = 0; k < m.length; k++) out.dx[m[k]] += g * w[k] * (G[m[k]] * (2 + (x[m[k]] - y[o]) / T) - A)
  })
}

function smoothOps(rule: Rule, dims: 1 | 2 | 3) {
  const name = `${rule === "lse" ? "lse" : "soft"}_pool${dims}d`
  const attrs = (raw: SmoothPoolOptions): SmoothAttrs => ({ ...windowParams(raw, dims), temperature: positiveAttr(raw.temperature, "temperature", name, 1) })
  const doubleBackward = defineOp({
    name: `${name}_backward_backward`,
    doc: `gradient of ${name}_backward with respect to x, y and gy, given the upstream ggx of its gx`,
    inputs: ["x", "y", "gy", "ggx"],
    outputs: ["dx", "dy", "dgy"],
    attrs: (raw: SmoothAttrs): SmoothAttrs => raw,
    infer: ({ x, y, gy }) => ({ dx: x, dy: y, dgy: gy }),
    kernel: ({ inputs: { x, y, gy, ggx }, outputs: { dx, dy, dgy }, attrs: a }) =>
      smoothDoubleBackward(rule, x.data, x.shape, y.data, gy.data, ggx.data, a, { dx: dx.data, dy: dy.data, dgy: dgy.data }),
  })
  const backward = defineOp({
    name: `${name}_backward`,
    doc: `gradient of ${name}: each window's upstream times ${rule === "lse" ? "softmax(x/T)" : "w_i (1 + (x_i - y)/T)"}`,
    inputs: ["x", "y", "gy"],
    outputs: ["gx"],
    attrs: (raw: SmoothAttrs): SmoothAttrs => raw,
    infer: ({ x }) => ({ gx: x }),
    kernel: ({ inputs: { x, y, gy }, outputs: { gx }, attrs: a }) => smoothBackward(rule, x.data, x.shape, y.data, gy.data, a, gx.data),
    grad: ({ inputs: { x, y, gy }, grads: { gx: ggx }, attrs: a, builder }) => {
      const d = builder.apply(doubleBackward, { x, y, gy, ggx: ggx! }, a)
      // lse's backward does not read y's value (dy is all zeros): leave it out of the graph
      return rule === "lse" ? { x: d.dx, gy: d.dgy } : { x: d.dx, y: d.dy, gy: d.dgy }
    },
  })
  const forward = defineOp({
    name,
    doc: rule === "lse" ? "T log(mean(exp(x/T))) over each window" : "softmax(x/T)-weighted mean over each window",
    inputs: ["x"],
    outputs: ["y"],
    attrs,
    infer: ({ x }, a) => {
      requireFloat(x, "x")
      return { y: { shape: windowOutputShape(x.shape, a, name), dtype: x.dtype } }
    },
    kernel: ({ inputs: { x }, outputs: { y }, attrs: a }) => smoothForward(rule, x.data, x.shape, a, y.data),
    grad: ({ inputs: { x }, outputs: { y }, grads: { y: gy }, attrs: a, builder }) => ({ x: builder.apply(backward, { x, y, gy: gy! }, a).gx }),
  })
  return { forward, backward, doubleBackward }
}

const lse = [smoothOps("lse", 1), smoothOps("lse", 2), smoothOps("lse", 3)] as const
const soft = [smoothOps("soft", 1), smoothOps("soft", 2), smoothOps("soft", 3)] as const

/** The lse_pool1d op record, input `x`, output `y` (see {@link lsePool1d}). */
export const lsePool1dOp = lse[0].forward
/** The lse_pool2d op record, input `x`, output `y` (see {@link lsePool2d}). */
export const lsePool2dOp = lse[1].forward
/** The lse_pool3d op record, input `x`, output `y` (see {@link lsePool3d}). */
export const lsePool3dOp = lse[2].forward
/** The soft_pool1d op record, input `x`, output `y` (see {@link softPool1d}). */
export const softPool1dOp = soft[0].forward
/** The soft_pool2d op record, input `x`, output `y` (see {@link softPool2d}). */
export const softPool2dOp = soft[1].forward
/** The soft_pool3d op record, input `x`, output `y` (see {@link softPool3d}). */
export const softPool3dOp = soft[2].forward

/** Every op of this file (forward, backward and double backward), for registries. */
export const smoothPoolOps = [...lse, ...soft].flatMap((o) => [o.forward, o.backward, o.doubleBackward])

/**
 * LogSumExp pooling, T log(mean(exp(x/T))) per window: max pooling as T -> 0, average
 * pooling as T -> inf.
 *
 * @example
 * lsePool2d(x, { kernel_size: 2, temperature: 0.5 }) // [N, C, 28, 28] -> [N, C, 14, 14]
 */
export const lsePool1d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(lsePool1dOp, { x }, attrs).y
/** LogSumExp pooling in 2-d (see {@link lsePool1d}). */
export const lsePool2d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(lsePool2dOp, { x }, attrs).y
/** LogSumExp pooling in 3-d (see {@link lsePool1d}). */
export const lsePool3d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(lsePool3dOp, { x }, attrs).y
/**
 * SoftPool: the softmax(x/T)-weighted mean of each window (T = 1 is Stergiou et al.).
 *
 * @example
 * softPool2d(x, { kernel_size: 2 })
 */
export const softPool1d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(softPool1dOp, { x }, attrs).y
/** SoftPool in 2-d (see {@link softPool1d}). */
export const softPool2d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(softPool2dOp, { x }, attrs).y
/** SoftPool in 3-d (see {@link softPool1d}). */
export const softPool3d = (x: Value, attrs: SmoothPoolOptions): Value => x.builder.apply(softPool3dOp, { x }, attrs).y
