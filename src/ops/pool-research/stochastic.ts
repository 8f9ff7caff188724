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
  return { train, evalForward, evalBackward }
}

const ops = [stochasticOps(1), stochasticOps(2), stochasticOps(3)] as const
export const stochasticPool1dOp = ops[0].train
export const stochasticPool2dOp = ops[1].train
export const stochasticPool3dOp = ops[2].train
export const stochasticPool1dEvalOp = ops[0].evalForward
export const stochasticPool2dEvalOp = ops[1].evalForward
export const stochasticPool3dEvalOp = ops[2].evalForward
/** Every stochastic-pooling op (training, eval and eval backward). */
export const stochasticPoolOps = ops.flatMap((o) => [o.train, o.evalForward, o.evalBackward])

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
