/**
 * Stochastic pooling (Zeiler & Fergus, 2013), 1-3d. Each window's activations a_i give
 * probabilities p_i = r_i / Σ r_j with r = max(a, 0) (the paper pools ReLU outputs, which
 * are non-negative; negative members get probability 0).
 *
 *   training  (stochastic_pool{d}d): y = a_k with k drawn from p, from the seeded
 *             xoshiro128** stream (one uniform per window, in output order): an int32 scalar
 *             `seed` input, fed fresh each step, makes every step replayable. The gradient
 *             routes each window's upstream to the drawn element (`indices`, scattered like
 *             max pooling's; double backward gathers).
 *   eval      (stochastic_pool{d}d_eval): y = Σ p_i a_i, the probability-weighted mean;
 *             ∂y/∂a_i = (2 a_i S - Q) / S² for a_i > 0 (S = Σ r, Q = Σ r²), 0 otherwise.
 *             That backward op has a gradient rule (`*_eval_backward_backward`), so eval
 *             mode has a double backward; that op has none (no third derivative).
 *
 * Ties and degenerate windows: a window with Σ r = 0 (all members <= 0: a dead ReLU region)
 * has no distribution; both modes fall back to max pooling with tie "first" there (y = the
 * window maximum, gradient to its first maximum). NaN in a window: y = NaN; training routes
 * the gradient to the first NaN, eval gives every member a NaN gradient.
 */
import { ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { Random } from "../../tensor/random.ts"
import { defineOp } from "../../graph/op.ts"
import { scatterAddPlanes } from "../pool/planes.ts"
import type { PoolParams } from "../pool/geometry.ts"
import { windowMembers, windowOutputShape, windowParams, type WindowPoolOptions } from "./windows.ts"
import { requireFloat } from "../attrs.ts"

/** The first maximum of a window (first NaN if any), or -1 for an empty window. */
function firstMax(x: ArrayLike<number>, m: Int32Array): number {
  let best = -1
  let max = -Infinity
  for (let k = 0; k < m.length; k++) {
    const v = x[m[k]]
    if (v !== v) return m[k]
    if (best < 0 || v > max) {
      max = v
      best = m[k]
    }
  }
  return best
}

function windowSums(x: ArrayLike<number>, m: Int32Array): { S: number; Q: number; nan: boolean } {
  let S = 0
  let Q = 0
  let nan = false
  for (let k = 0; k < m.length; k++) {
    const v = x[m[k]]
    if (v !== v) nan = true
    else if (v > 0) {
      S += v
      Q += v * v
    }
  }
  return { S, Q, nan }
}

/**
 * The eval backward's gradient, with x and gy independent. Per window with S > 0, the
 * backward is gx_i = gy f_i, f_i = 2 a_i / S - Q / S² (a_i > 0), and
 * ∂f_i/∂a_j = 2 δ_ij / S - 2 a_i / S² - 2 a_j / S² + 2 Q / S³ (a_j > 0); so with G the
 * upstream of gx, summed over positive members (Gs = Σ G_i, P = Σ G_i a_i):
 *   dgy = Σ G_i f_i,   dx_j = gy (2 G_j / S - 2 P / S² - 2 a_j Gs / S² + 2 Q Gs / S³).
 * A window with S = 0 routes to its first maximum, constant in x: dgy = G there, dx = 0.
 * A NaN window gives NaN.
 */
function evalDoubleBackwardKernel(
  xs: ArrayLike<number>,
  shape: readonly number[],
  gy: ArrayLike<number>,
  G: ArrayLike<number>,
  attrs: PoolParams,
  dx: { [i: number]: number },
  dgy: { [i: number]: number },
): void {
  windowMembers(shape, attrs).members.forEach((m, o) => {
    const { S, Q, nan } = windowSums(xs, m)
    if (nan) {
      for (const i of m) dx[i] = NaN
      dgy[o] = NaN
      return
    }
    if (S === 0) {
      const i = firstMax(xs, m)
      if (i >= 0) dgy[o] = G[i]
      return
    }
    let Gs = 0
    let P = 0
    let F = 0
    for (const i of m) {
      if (xs[i] > 0) {
        Gs += G[i]
        P += G[i] * xs[i]
        F += (G[i] * (2 * xs[i] * S - Q)) / (S * S)
      }
    }
    dgy[o] = F
    const S2 = S * S
    const common = -2 * P / S2 + (2 * Q * Gs) / (S2 * S)
    for (const i of m) if (xs[i] > 0) dx[i] += gy[o] * ((2 * G[i]) / S + common - (2 * xs[i] * Gs) / S2)
  })
}

function stochasticOps(dims: 1 | 2 | 3) {
  const name = `stochastic_pool${dims}d`
  const infer = (x: { shape: readonly number[]; dtype: string }, a: PoolParams, op: string) => {
    requireFloat(x as never, "x")
    return windowOutputShape(x.shape, a, op)
  }
  const train = defineOp({
    name,
    doc: "each window's value drawn with probability proportional to max(x, 0), from the seed",
    inputs: ["x", "seed"],
    outputs: ["y", "indices"],
    attrs: (raw: WindowPoolOptions): PoolParams => windowParams(raw, dims),
    infer: ({ x, seed }, a) => {
      if (seed.dtype !== "int32" || seed.shape.reduce((p, q) => p * q, 1) !== 1) throw new ShapeError(`${name}: seed is ${showShape(seed.shape)} ${seed.dtype} (expected an int32 scalar [])`)
      const shape = infer(x, a, name)
      return { y: { shape, dtype: x.dtype }, indices: { shape, dtype: "int32" } }
    },
    kernel: ({ inputs: { x, seed }, outputs: { y, indices }, attrs }) => {
      const w = windowMembers(x.shape, attrs)
      const rng = new Random(seed.data[0])
      const xs = x.data
      w.members.forEach((m, o) => {
        const u = rng.uniform(0, 1)
        const { S, nan } = windowSums(xs, m)
        let pick = -1
        if (!nan && S > 0) {
          // Inverse CDF: the first member whose cumulative share exceeds u.
          let acc = 0
          for (let k = 0; k < m.length && pick < 0; k++) {
            const v = xs[m[k]]
            if (v > 0) {
              acc += v
              if (u * S < acc) pick = m[k]
            }
          }
          if (pick < 0) for (let k = m.length - 1; k >= 0 && pick < 0; k--) if (xs[m[k]] > 0) pick = m[k] // rounding at u -> 1
        } else pick = firstMax(xs, m)
        y.data[o] = pick < 0 ? -Infinity : xs[pick]
        indices.data[o] = pick < 0 ? -1 : pick % w.inPlane
      })
    },
    grad: ({ inputs: { x }, outputs: { indices }, grads: { y: gy } }) => ({ x: scatterAddPlanes(gy!, indices, x.shape.slice(-dims)) }),
  })
  const evalDoubleBackward = defineOp({
    name: `${name}_eval_backward_backward`,
    doc: `gradient of ${name}_eval_backward with respect to x and gy, given the upstream ggx of its gx`,
    inputs: ["x", "gy", "ggx"],
    outputs: ["dx", "dgy"],
    attrs: (raw: PoolParams): PoolParams => raw,
    infer: ({ x, gy }) => ({ dx: x, dgy: gy }),
    kernel: ({ inputs: { x, gy, ggx }, outputs: { dx, dgy }, attrs }) => evalDoubleBackwardKernel(x.data, x.shape, gy.data, ggx.data, attrs, dx.data, dgy.data),
  })
  const evalBackward = defineOp({
    name: `${name}_eval_backward`,
    doc: `gradient of ${name}_eval: (2 a_i S - Q) / S² per positive member`,
    inputs: ["x", "gy"],
    outputs: ["gx"],
    attrs: (raw: PoolParams): PoolParams => raw,
    infer: ({ x }) => ({ gx: x }),
    kernel: ({ inputs: { x, gy }, outputs: { gx }, attrs }) => {
      const xs = x.data
      windowMembers(x.shape, attrs).members.forEach((m, o) => {
        const { S, Q, nan } = windowSums(xs, m)
        if (nan) {
          for (const i of m) gx.data[i] = NaN
          return
        }
        if (S === 0) {
          const i = firstMax(xs, m)
          if (i >= 0) gx.data[i] += gy.data[o]
          return
        }
        for (const i of m) if (xs[i] > 0) gx.data[i] += (gy.data[o] * (2 * xs[i] * S - Q)) / (S * S)
      })
    },
    grad: ({ inputs: { x, gy }, grads: { gx: ggx }, attrs, builder }) => {
      const d = builder.apply(evalDoubleBackward, { x, gy, ggx: ggx! }, attrs)
      return { x: d.dx, gy: d.dgy }
    },
  })
  const evalForward = defineOp({
    name: `${name}_eval`,
    doc: "probability-weighted mean of each window: Σ r_i a_i / Σ r_j, r = max(a, 0)",
    inputs: ["x"],
    outputs: ["y"],
    attrs: (raw: WindowPoolOptions): PoolParams => windowParams(raw, dims),
    infer: ({ x }, a) => ({ y: { shape: infer(x, a, `${name}_eval`), dtype: x.dtype } }),
    kernel: ({ inputs: { x }, outputs: { y }, attrs }) => {
      const xs = x.data
      windowMembers(x.shape, attrs).members.forEach((m, o) => {
        const { S, Q, nan } = windowSums(xs, m)
        const i = firstMax(xs, m)
        y.data[o] = nan ? NaN : S > 0 ? Q / S : i < 0 ? -Infinity : xs[i]
      })
    },
    grad: ({ inputs: { x }, grads: { y: gy }, attrs, builder }) => ({ x: builder.apply(evalBackward, { x, gy: gy! }, attrs).gx }),
  })
  return { train, evalForward, evalBackward, evalDoubleBackward }
}

const ops = [stochasticOps(1), stochasticOps(2), stochasticOps(3)] as const
export const stochasticPool1dOp = ops[0].train
export const stochasticPool2dOp = ops[1].train
export const stochasticPool3dOp = ops[2].train
export const stochasticPool1dEvalOp = ops[0].evalForward
export const stochasticPool2dEvalOp = ops[1].evalForward
export const stochasticPool3dEvalOp = ops[2].evalForward
/** Every stochastic-pooling op (training, eval, eval backward and its gradient). */
export const stochasticPoolOps = ops.flatMap((o) => [o.train, o.evalForward, o.evalBackward, o.evalDoubleBackward])

const TRAIN = [stochasticPool1dOp, stochasticPool2dOp, stochasticPool3dOp] as const
const EVAL = [stochasticPool1dEvalOp, stochasticPool2dEvalOp, stochasticPool3dEvalOp] as const

/**
 * Stochastic pooling: with a `seed` (an int32 scalar value; training) each window's value
 * is drawn with probability ∝ max(x, 0); without one (eval) the probability-weighted mean.
 *
 * @example
 * stochasticPool2d(x, { kernel_size: 2 }, ctx.training ? ctx.seedInput() : undefined)
 */
export function stochasticPool(dims: 1 | 2 | 3, x: Value, attrs: WindowPoolOptions, seed?: Value): Value {
  return seed === undefined ? x.builder.apply(EVAL[dims - 1], { x }, attrs).y : x.builder.apply(TRAIN[dims - 1], { x, seed }, attrs).y
}
/** Stochastic pooling in 2-d (see {@link stochasticPool}). */
export const stochasticPool2d = (x: Value, attrs: WindowPoolOptions, seed?: Value): Value => stochasticPool(2, x, attrs, seed)
