import { AttrError, ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import type { TensorSpec } from "../graph/types.ts"
import { sameShape } from "../tensor/shape.ts"
import { defineOp } from "./define.ts"
import { mul, requireFloat, requireNumber } from "./elementwise.ts"
import { Random } from "../tensor/random.ts"

/*
 * batch_norm2d over x [N, C, H, W], per channel c with M = N*H*W elements:
 *   training: mean = sum(x)/M, var = sum((x - mean)^2)/M (biased), invstd = 1/sqrt(var + eps)
 *             running_mean' = (1 - momentum) running_mean + momentum mean
 *             running_var'  = (1 - momentum) running_var  + momentum var * M/(M - 1) (unbiased)
 *   eval:     mean = running_mean, invstd = 1/sqrt(running_var + eps); running stats unchanged
 *   y = (x - mean) * invstd * weight + bias
 * The updated running statistics are extra outputs `running_mean` / `running_var` (the
 * training loop writes them back to the store); `save_mean` / `save_invstd` are the
 * statistics the backward reads (optional outputs, computed when consumed). Running
 * statistics never get gradients. Without running-stat inputs, training mode updates
 * PyTorch's initial values (mean 0, var 1).
 *
 * Backward (xhat = (x - mean) invstd, g = gy * weight):
 *   training: gx = invstd (g - mean(g) - xhat mean(g xhat))   (a constant channel has
 *             var 0, invstd = 1/sqrt(eps) and xhat = 0: a finite gradient)
 *   eval:     gx = g invstd
 *   gweight = sum(gy xhat), gbias = sum(gy)
 */

type BatchNormAttrs = { training: boolean; momentum: number; eps: number; affine: boolean | null; num_features: number | null }
type RawBatchNormAttrs = {
  training?: boolean
  momentum?: number
  eps?: number
  affine?: boolean | null
  num_features?: number | null
  /** Accepted for PyTorch's call form; running statistics are tracked when they are given as inputs. */
  track_running_stats?: boolean
}

const boolAttr = (v: unknown, name: string, dflt: boolean): boolean => {
  if (v === undefined) return dflt
  if (typeof v !== "boolean") throw new AttrError(`${name} = ${JSON.stringify(v)} (expected true or false)`)
  return v
}

function batchNormAttrs(raw: RawBatchNormAttrs): BatchNormAttrs {
  if (raw.momentum === null) throw new AttrError("momentum = null (cumulative moving average is not supported; expected a number in [0, 1])")
  const nf = raw.num_features ?? null
  if (nf !== null && (!Number.isInteger(nf) || nf <= 0)) throw new AttrError(`num_features = ${JSON.stringify(nf)} (expected a positive integer)`)
  const affine = raw.affine ?? null
  if (affine !== null && typeof affine !== "boolean") throw new AttrError(`affine = ${JSON.stringify(affine)} (expected true or false)`)
  return {
    training: boolAttr(raw.training, "training", false),
    momentum: requireNumber(raw.momentum ?? 0.1, "momentum", (v) => v >= 0 && v <= 1, "a number in [0, 1]"),
    eps: requireNumber(raw.eps ?? 1e-5, "eps", (v) => Number.isFinite(v) && v >= 0, "a non-negative number"),
    affine,
    num_features: nf,
  }
}

function channelSpec(spec: TensorSpec | undefined, name: string, channels: number): void {
  if (spec === undefined) return
  requireFloat(spec, name)
  if (!sameShape(spec.shape, [channels])) throw new ShapeError(`${name} ${showShape(spec.shape)} (expected one value per channel: [${channels}])`)
}

/** batch_norm2d: normalises each channel of NCHW input by batch (training) or running (eval) statistics. */
export const batchNorm2dOp = defineOp({
  name: "batch_norm2d",
  doc: "per-channel (x - mean) / sqrt(var + eps) * weight + bias",
  inputs: ["x"],
  optionalInputs: ["weight", "bias", "running_mean", "running_var"],
  outputs: ["y"],
  optionalOutputs: ["running_mean", "running_var", "save_mean", "save_invstd"],
  attrs: batchNormAttrs,
  infer: ({ x, weight, bias, running_mean, running_var }, a) => {
    requireFloat(x, "x")
    if (x.shape.length !== 4) throw new ShapeError(`x ${showShape(x.shape)} (expected a 4-d input [N, C, H, W])`)
    const [n, c, h, w] = x.shape
    if (a.num_features !== null && a.num_features !== c) throw new ShapeError(`x has ${c} channels but num_features = ${a.num_features} (expected them equal)`)
    channelSpec(weight, "weight", c)
    channelSpec(bias, "bias", c)
    channelSpec(running_mean, "running_mean", c)
    channelSpec(running_var, "running_var", c)
    if (a.affine === true && (weight === undefined || bias === undefined)) throw new ShapeError("affine = true but weight or bias is missing (expected both inputs)")
    if (a.affine === false && (weight !== undefined || bias !== undefined)) throw new ShapeError("affine = false but weight or bias is given (expected neither)")
    if ((running_mean === undefined) !== (running_var === undefined)) throw new ShapeError("only one of running_mean and running_var is given (expected both or neither)")
    if (!a.training && running_mean === undefined) throw new ShapeError("eval mode (training = false) needs running_mean and running_var inputs")
    if (a.training && n * h * w <= 1) throw new ShapeError(`training needs more than one value per channel, got x ${showShape(x.shape)} (expected N*H*W > 1)`)
    const perChannel: TensorSpec = { shape: [c], dtype: x.dtype }
    return { y: x, running_mean: perChannel, running_var: perChannel, save_mean: perChannel, save_invstd: perChannel }
  },
  kernel: ({ inputs: { x, weight, bias, running_mean, running_var }, outputs, attrs }) => {
    const [n, channels, h, w] = x.shape
    const plane = h * w
    const count = n * plane
    const xs = x.data
    const ys = outputs.y.data
    const mom = attrs.momentum
    for (let c = 0; c < channels; c++) {
      let mean: number
      let invstd: number
      if (attrs.training) {
        let total = 0
        for (let b = 0; b < n; b++) {
          const off = (b * channels + c) * plane
          for (let i = off; i < off + plane; i++) total += xs[i]
        }
        mean = total / count
        let sq = 0 // two-pass variance: no cancellation for large means
        for (let b = 0; b < n; b++) {
          const off = (b * channels + c) * plane
          for (let i = off; i < off + plane; i++) {
            const d = xs[i] - mean
            sq += d * d
          }
        }
        invstd = 1 / Math.sqrt(sq / count + attrs.eps)
        const rm = running_mean === undefined ? 0 : running_mean.data[c]
        const rv = running_var === undefined ? 1 : running_var.data[c]
        if (outputs.running_mean !== undefined) outputs.running_mean.data[c] = (1 - mom) * rm + mom * mean
        if (outputs.running_var !== undefined) outputs.running_var.data[c] = (1 - mom) * rv + (mom * sq) / (count - 1)
      } else {
        mean = running_mean!.data[c]
        invstd = 1 / Math.sqrt(running_var!.data[c] + attrs.eps)
        if (outputs.running_mean !== undefined) outputs.running_mean.data[c] = mean
        if (outputs.running_var !== undefined) outputs.running_var.data[c] = running_var!.data[c]
      }
      if (outputs.save_mean !== undefined) outputs.save_mean.data[c] = mean
      if (outputs.save_invstd !== undefined) outputs.save_invstd.data[c] = invstd
      const scaleC = invstd * (weight === undefined ? 1 : weight.data[c])
      const shiftC = bias === undefined ? 0 : bias.data[c]
      for (let b = 0; b < n; b++) {
        const off = (b * channels + c) * plane
        for (let i = off; i < off + plane; i++) ys[i] = (xs[i] - mean) * scaleC + shiftC
      }
    }
  },
  grad: ({ inputs: { x, weight }, outputs: { save_mean, save_invstd }, grads: { y: gy }, attrs, needsGrad, builder }) => {
    if (gy === undefined) return {}
    const wantW = needsGrad("weight")
    const wantB = needsGrad("bias")
    const r = builder.apply(
      batchNorm2dBackwardOp,
      { gy, x, save_mean, save_invstd, weight: weight },
      { training: attrs.training },
    )
    return { x: needsGrad("x") ? r.gx : undefined, weight: wantW ? r.gweight : undefined, bias: wantB ? r.gbias : undefined }
  },
})

/** The gradients of batch_norm2d for x (always), weight and bias (optional outputs). No double backward. */
export const batchNorm2dBackwardOp = defineOp({
  name: "batch_norm2d_backward",
  doc: "d batch_norm2d / d (x, weight, bias) from the saved mean and invstd",
  inputs: ["gy", "x", "save_mean", "save_invstd"],
  optionalInputs: ["weight"],
  outputs: ["gx"],
  optionalOutputs: ["gweight", "gbias"],
  attrs: (raw: { training?: boolean }): { training: boolean } => ({ training: boolAttr(raw.training, "training", false) }),
  infer: ({ gy, x, save_mean, save_invstd, weight }) => {
    requireFloat(x, "x")
    if (x.shape.length !== 4) throw new ShapeError(`x ${showShape(x.shape)} (expected a 4-d input [N, C, H, W])`)
    if (!sameShape(gy.shape, x.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} differ (expected equal shapes)`)
    const c = x.shape[1]
    channelSpec(save_mean, "save_mean", c)
    channelSpec(save_invstd, "save_invstd", c)
    channelSpec(weight, "weight", c)
    const perChannel: TensorSpec = { shape: [c], dtype: x.dtype }
    return { gx: x, gweight: perChannel, gbias: perChannel }
  },
  kernel: ({ inputs: { gy, x, save_mean, save_invstd, weight }, outputs, attrs }) => {
    const [n, channels, h, w] = x.shape
    const plane = h * w
    const count = n * plane
    const g = gy.data
    const xs = x.data
    const gx = outputs.gx.data
    for (let c = 0; c < channels; c++) {
      const mean = save_mean.data[c]
      const invstd = save_invstd.data[c]
      let sumG = 0
      let sumGXhat = 0
      for (let b = 0; b < n; b++) {
        const off = (b * channels + c) * plane
        for (let i = off; i < off + plane; i++) {
          sumG += g[i]
          sumGXhat += g[i] * (xs[i] - mean)
        }
      }
      sumGXhat *= invstd // sum(gy * xhat)
      if (outputs.gweight !== undefined) outputs.gweight.data[c] = sumGXhat
      if (outputs.gbias !== undefined) outputs.gbias.data[c] = sumG
      const wc = weight === undefined ? 1 : weight.data[c]
      if (attrs.training) {
        const meanG = sumG / count
        const k = (sumGXhat / count) * invstd // mean(gy xhat) * invstd, multiplies (x - mean)
        const s = invstd * wc
        for (let b = 0; b < n; b++) {
          const off = (b * channels + c) * plane
          for (let i = off; i < off + plane; i++) gx[i] = s * (g[i] - meanG - (xs[i] - mean) * k)
        }
      } else {
        const s = invstd * wc
        for (let b = 0; b < n; b++) {
          const off = (b * channels + c) * plane
          for (let i = off; i < off + plane; i++) gx[i] = g[i] * s
        }
      }
    }
  },
})

// ---------------------------------------------------------------- functional API

export interface BatchNorm2dOptions {
  readonly weight?: Value
  readonly bias?: Value
  readonly running_mean?: Value
  readonly running_var?: Value
  /** Batch statistics (true) or running statistics (false, the default, as in F.batch_norm). */
  readonly training?: boolean
  readonly momentum?: number
  readonly eps?: number
}

/**
 * batch_norm2d on NCHW input. Returns `y`, and in training mode with running statistics
 * given, their updated values `running_mean` / `running_var` (write them back to the
 * parameter store after the step; they carry no gradient).
 *
 * @example
 * const { y, running_mean, running_var } = batchNorm2d(x, { weight, bias, running_mean: rm, running_var: rv, training: true })
 */
export function batchNorm2d(x: Value, options: BatchNorm2dOptions = {}): { y: Value; running_mean?: Value; running_var?: Value } {
  const { weight, bias, running_mean, running_var, ...attrs } = options
  const out = x.builder.apply(batchNorm2dOp, { x, weight, bias, running_mean, running_var }, attrs)
  if (attrs.training === true && running_mean !== undefined) return { y: out.y, running_mean: out.running_mean, running_var: out.running_var }
  return { y: out.y }
}

// ---------------------------------------------------------------- dropout

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
    training: boolAttr(raw.training, "training", true),
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

export const normOps = [batchNorm2dOp, batchNorm2dBackwardOp, dropoutOp] as const
