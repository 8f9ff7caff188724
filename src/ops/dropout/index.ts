import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { Random } from "../../tensor/random.ts"
import { defineOp } from "../../graph/op.ts"
import { mul } from "../pointwise/index.ts"
import { requireFloat, requireNumber } from "../attrs.ts"

/*
 * dropout, reproducible: the op takes an int32 scalar `seed` input that the training loop
 * feeds each step (e.g. a step counter mixed with a run seed), so every step draws a fresh
 * mask and any step can be replayed exactly. The mask comes from the seeded xoshiro128**
 * PRNG (src/tensor/random.ts), one uint32 per element in row-major order: element i is
 * kept when u_i >= p * 2^32 (probability 1 - p). The `mask` output holds the scale each
 * element was multiplied by, 0 or 1/(1 - p), so y = x * mask and the gradient is
 * gy * mask: the backward reads the saved mask, nothing is redrawn. Eval mode (training =
 * false) and p = 0 are the identity (mask all ones); p = 1 zeroes everything.
 */

type DropoutAttrs = { p: number; training: boolean }

/** dropout(x, seed): zero each element with probability p, scale the rest by 1/(1-p). */
export const dropoutOp = defineOp({
  name: "dropout",
  doc: "x * mask, mask = bernoulli(1 - p) / (1 - p) from the seed",
  inputs: ["x"],
  optionalInputs: ["seed"],
  outputs: ["y"],
  optionalOutputs: ["mask"],
  attrs: (raw: { p?: number; training?: boolean; inplace?: boolean }): DropoutAttrs => ({
    p: requireNumber(raw.p ?? 0.5, "p", (v) => v >= 0 && v <= 1, "a probability in [0, 1]"),
    training: booleanAttr(raw.training, "training", true),
  }),
  infer: ({ x, seed }, { p, training }) => {
    requireFloat(x, "x")
    if (seed !== undefined && (seed.dtype !== "int32" || seed.shape.reduce((a, d) => a * d, 1) !== 1)) {
      throw new ShapeError(`seed is ${showShape(seed.shape)} ${seed.dtype} (expected an int32 scalar [])`)
    }
    if (training && p > 0 && p < 1 && seed === undefined) {
      throw new ShapeError(`dropout in training mode with p = ${p} needs a seed input (expected an int32 scalar fed per step)`)
    }
    return { y: x, mask: x }
  },
  kernel: ({ inputs: { x, seed }, outputs: { y, mask }, attrs: { p, training } }) => {
    const xs = x.data
    const ys = y.data
    const n = ys.length
    if (!training || p === 0) {
      ys.set(xs)
      mask?.data.fill(1)
      return
    }
    if (p === 1) return // outputs are zero-filled: everything dropped, mask 0
    const rng = new Random(seed!.data[0])
    const threshold = p * 4294967296
    const keep = 1 / (1 - p)
    const m = mask?.data
    for (let i = 0; i < n; i++) {
      if (rng.nextUint32() >= threshold) {
        ys[i] = xs[i] * keep
        if (m !== undefined) m[i] = keep
      }
    }
  },
  grad: ({ outputs: { mask }, grads: { y: gy }, attrs: { p, training } }) => ({
    x: !training || p === 0 ? gy! : mul(gy!, mask),
  }),
})

/** Options of {@link dropout}, as F.dropout's `p` and `training`, plus the seed input that makes masks reproducible. */
export interface DropoutOptions {
  /** Drop probability, default 0.5. */
  readonly p?: number
  /** Default true (as F.dropout); false makes the op the identity. */
  readonly training?: boolean
  /** int32 scalar graph input, fed a fresh value per step; required when training with 0 < p < 1. */
  readonly seed?: Value
}

/**
 * Reproducible dropout: the mask is a function of the fed seed.
 * @example
 * const step = g.input("dropout_seed", [], "int32")
 * const h = dropout(relu(z), { p: 0.5, training: true, seed: step })
 */
export const dropout = (x: Value, options: DropoutOptions = {}): Value => {
  const { seed, ...attrs } = options
  return x.builder.apply(dropoutOp, { x, seed }, attrs).y
}

function booleanAttr(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt
  if (typeof v !== "boolean") throw new AttrError(`${name} = ${JSON.stringify(v)} (expected true or false)`)
  return v
}

/** The dropout family. */
export const dropoutOps = [dropoutOp] as const
