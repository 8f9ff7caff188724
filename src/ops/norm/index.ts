import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { GraphBuilder, Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { sameShape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { add, mul, neg, scale, sub } from "../pointwise/index.ts"
import { expand } from "../pointwise/index.ts"
import { mean, sum } from "../reduce/index.ts"
import { reshape } from "../shape/index.ts"
import { requireFloat, requireNumber } from "../attrs.ts"


/*
 * batch_norm2d over x [N, C, *] of any rank >= 2 ([N, C] or [N, C, L] for BatchNorm1d,
 * [N, C, H, W] for BatchNorm2d, [N, C, D, H, W] for BatchNorm3d: PyTorch's rank-generic
 * F.batch_norm under this op's historical name), per channel c with M = N*prod(*) elements:
 *   training: mean = sum(x)/M, var = sum((x - mean)^2)/M (biased), invstd = 1/sqrt(var + eps)
 *             running_mean' = (1 - f) running_mean + f mean
 *             running_var'  = (1 - f) running_var  + f var * M/(M - 1) (unbiased)
 *             f = momentum; momentum = null (PyTorch's None) is the cumulative moving
 *             average f = 1 / (num_batches_tracked + 1), with num_batches_tracked an
 *             optional input (0 when absent) whose incremented value is an optional output
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
 * in one fused op, batch_norm2d_backward, whose own rule (batchNormDoubleBackward) gives
 * double backward.
 */

type BatchNormAttrs = { training: boolean; momentum: number | null; eps: number; affine: boolean | null; num_features: number | null }
type RawBatchNormAttrs = {
  training?: boolean
  /** null: cumulative moving average (PyTorch's momentum=None). */
  momentum?: number | null
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
  const nf = raw.num_features ?? null
  if (nf !== null && (!Number.isInteger(nf) || nf <= 0)) throw new AttrError(`num_features = ${JSON.stringify(nf)} (expected a positive integer)`)
  const affine = raw.affine ?? null
  if (affine !== null && typeof affine !== "boolean") throw new AttrError(`affine = ${JSON.stringify(affine)} (expected true or false)`)
  return {
    training: boolAttr(raw.training, "training", false),
    momentum: raw.momentum === null ? null : requireNumber(raw.momentum ?? 0.1, "momentum", (v) => v >= 0 && v <= 1, "a number in [0, 1] or null"),
    eps: requireNumber(raw.eps ?? 1e-5, "eps", (v) => Number.isFinite(v) && v >= 0, "a non-negative number"),
    affine,
    num_features: nf,
  }
}

/** [N, C, prod(*)]: the layout every batch-norm kernel walks (prod of no dims is 1). */
function batchLayout(shape: readonly number[]): [number, number, number] {
  let plane = 1
  for (let i = 2; i < shape.length; i++) plane *= shape[i]
  return [shape[0], shape[1], plane]
}

/** x must be [N, C, *] (rank >= 2). */
function requireBatchInput(x: TensorSpec): void {
  requireFloat(x, "x")
  if (x.shape.length < 2) throw new ShapeError(`x ${showShape(x.shape)} (expected [N, C, *] of rank >= 2: [N, C], [N, C, L], [N, C, H, W] or [N, C, D, H, W])`)
}

/** [1, C, 1, ...]: a per-channel vector shaped to broadcast against x. */
function channelBroadcastShape(shape: readonly number[]): number[] {
  return shape.map((d, i) => (i === 1 ? d : 1))
}

function channelSpec(spec: TensorSpec | undefined, name: string, channels: number): void {
  if (spec === undefined) return
  requireFloat(spec, name)
  if (!sameShape(spec.shape, [channels])) throw new ShapeError(`${name} ${showShape(spec.shape)} (expected one value per channel: [${channels}])`)
}

/** batch_norm2d: normalises each channel of [N, C, *] input by batch (training) or running (eval) statistics. */
export const batchNorm2dOp = defineOp({
  name: "batch_norm2d",
  doc: "per-channel (x - mean) / sqrt(var + eps) * weight + bias",
  inputs: ["x"],
  optionalInputs: ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"],
  outputs: ["y"],
  optionalOutputs: ["running_mean", "running_var", "num_batches_tracked", "save_mean", "save_invstd"],
  attrs: batchNormAttrs,
  infer: ({ x, weight, bias, running_mean, running_var, num_batches_tracked }, a) => {
    requireBatchInput(x)
    const [n, c, plane] = batchLayout(x.shape)
    if (a.num_features !== null && a.num_features !== c) throw new ShapeError(`x has ${c} channels but num_features = ${a.num_features} (expected them equal)`)
    channelSpec(weight, "weight", c)
    channelSpec(bias, "bias", c)
    channelSpec(running_mean, "running_mean", c)
    channelSpec(running_var, "running_var", c)
    if (a.affine === true && (weight === undefined || bias === undefined)) throw new ShapeError("affine = true but weight or bias is missing (expected both inputs)")
    if (a.affine === false && (weight !== undefined || bias !== undefined)) throw new ShapeError("affine = false but weight or bias is given (expected neither)")
    if ((running_mean === undefined) !== (running_var === undefined)) throw new ShapeError("only one of running_mean and running_var is given (expected both or neither)")
    if (!a.training && running_mean === undefined) throw new ShapeError("eval mode (training = false) needs running_mean and running_var inputs")
    if (a.training && n * plane <= 1) throw new ShapeError(`training needs more than one value per channel, got x ${showShape(x.shape)} (expected N * prod(spatial) > 1)`)
    if (num_batches_tracked !== undefined) {
      requireFloat(num_batches_tracked, "num_batches_tracked")
      if (num_batches_tracked.shape.length !== 0) throw new ShapeError(`num_batches_tracked ${showShape(num_batches_tracked.shape)} (expected a scalar [])`)
    }
    const perChannel: TensorSpec = { shape: [c], dtype: x.dtype }
    return { y: x, running_mean: perChannel, running_var: perChannel, num_batches_tracked: { shape: [], dtype: x.dtype }, save_mean: perChannel, save_invstd: perChannel }
  },
  kernel: ({ inputs: { x, weight, bias, running_mean, running_var, num_batches_tracked }, outputs, attrs }) => {
    const [n, channels, plane] = batchLayout(x.shape)
    const count = n * plane
    const xs = x.data
    const ys = outputs.y.data
    // PyTorch counts a batch only in training mode (eval leaves the count unchanged).
    const tracked = num_batches_tracked === undefined ? 0 : num_batches_tracked.data[0]
    const newTracked = attrs.training ? tracked + 1 : tracked
    if (outputs.num_batches_tracked !== undefined) outputs.num_batches_tracked.data[0] = newTracked
    // momentum null: cumulative moving average, the weight of this batch is 1 / (batches so far)
    const mom = attrs.momentum ?? 1 / newTracked
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
  grad: ({ inputs: { x, weight }, outputs: { save_mean, save_invstd }, grads, attrs, needsGrad, builder }) => {
    const gy = grads.y
    let gx: Value | undefined
    let gw: Value | undefined
    let gb: Value | undefined
    if (gy !== undefined) {
      const r = builder.apply(batchNorm2dBackwardOp, { gy, x, save_mean, save_invstd, weight }, { training: attrs.training })
      gx = needsGrad("x") ? r.gx : undefined
      gw = needsGrad("weight") ? r.gweight : undefined
      gb = needsGrad("bias") ? r.gbias : undefined
    }
    // Gradients reaching the saved batch statistics (only double backward produces them):
    // d mean/dx_i = 1/M, d invstd/dx_i = -invstd^3 (x_i - mean)/M. In eval mode they are
    // running statistics, which get no gradient; neither do running_mean / running_var.
    if (attrs.training && needsGrad("x") && (grads.save_mean !== undefined || grads.save_invstd !== undefined)) {
      const [n, c, plane] = batchLayout(x.shape)
      const count = n * plane
      const perChannel = (v: Value): Value => reshape(v, channelBroadcastShape(x.shape))
      let extra: Value | undefined
      if (grads.save_mean !== undefined) extra = expand(scale(perChannel(grads.save_mean), 1 / count), x.shape)
      if (grads.save_invstd !== undefined) {
        const inv = perChannel(save_invstd)
        const term = mul(sub(x, perChannel(save_mean)), scale(mul(perChannel(grads.save_invstd), mul(inv, mul(inv, inv))), -1 / count))
        extra = extra === undefined ? term : add(extra, term)
      }
      gx = gx === undefined ? extra : add(gx, extra!)
    }
    return { x: gx, weight: gw, bias: gb }
  },
})

/** The gradients of batch_norm2d for x (always), weight and bias (optional outputs). */
export const batchNorm2dBackwardOp = defineOp({
  name: "batch_norm2d_backward",
  doc: "d batch_norm2d / d (x, weight, bias) from the saved mean and invstd",
  inputs: ["gy", "x", "save_mean", "save_invstd"],
  optionalInputs: ["weight"],
  outputs: ["gx"],
  optionalOutputs: ["gweight", "gbias"],
  attrs: (raw: { training?: boolean }): { training: boolean } => ({ training: boolAttr(raw.training, "training", false) }),
  infer: ({ gy, x, save_mean, save_invstd, weight }) => {
    requireBatchInput(x)
    if (!sameShape(gy.shape, x.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} differ (expected equal shapes)`)
    const c = x.shape[1]
    channelSpec(save_mean, "save_mean", c)
    channelSpec(save_invstd, "save_invstd", c)
    channelSpec(weight, "weight", c)
    const perChannel: TensorSpec = { shape: [c], dtype: x.dtype }
    return { gx: x, gweight: perChannel, gbias: perChannel }
  },
  kernel: ({ inputs: { gy, x, save_mean, save_invstd, weight }, outputs, attrs }) => {
    const [n, channels, plane] = batchLayout(x.shape)
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
  grad: (args) => batchNormDoubleBackward(args),
})

/**
 * Double backward of batch_norm2d_backward with the saved mean m and invstd r as inputs of
 * their own (their dependence on x is the forward op's rule above). Per channel, with
 * xhat = (x - m) r, means over (N, H, W), c = mean(g xhat), and incoming ggx, ggw, ggb:
 *   training: gx = w r (g - mean(g) - xhat c), gw = sum(g xhat), gb = sum(g)
 *     d/dg = bn_backward(ggx) + ggw xhat + ggb
 *     d/dx = -w r^2 (ggx c + g mean(ggx xhat)) + ggw r g,      d/dm = -sum(d/dx)
 *     d/dr = w (sum(ggx (g - mean(g))) - 3 c sum(ggx xhat)) + ggw sum(g (x - m))
 *     d/dw = sum(ggx r (g - mean(g) - xhat c))
 *   eval: gx = w r g
 *     d/dg = w r ggx + ggw xhat + ggb,   d/dx = ggw r g,   d/dm = -sum(d/dx)
 *     d/dr = w sum(ggx g) + ggw sum(g (x - m)),   d/dw = sum(ggx r g)
 */
function batchNormDoubleBackward({
  inputs: { gy, x, save_mean: saveMean, save_invstd: saveInvstd, weight },
  grads: { gx: ggx, gweight: ggw, gbias: ggb },
  attrs: { training },
  needsGrad,
  builder,
}: {
  inputs: { gy: Value; x: Value; save_mean: Value; save_invstd: Value; weight?: Value }
  grads: { gx?: Value; gweight?: Value; gbias?: Value }
  attrs: { training: boolean }
  needsGrad: (name: "gy" | "x" | "save_mean" | "save_invstd" | "weight") => boolean
  builder: GraphBuilder
}): { gy?: Value; x?: Value; save_mean?: Value; save_invstd?: Value; weight?: Value } {
  const c = x.shape[1]
  const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2)]
  const bc = (v: Value): Value => reshape(v, channelBroadcastShape(x.shape))
  const chanSum = (v: Value): Value => sum(v, axes)
  const chanMean = (v: Value): Value => mean(v, axes, true)
  const plus = (a: Value | undefined, b: Value | undefined): Value | undefined => (a === undefined ? b : b === undefined ? a : add(a, b))
  const r = bc(saveInvstd)
  const w = weight === undefined ? undefined : bc(weight)
  const withW = (v: Value): Value => (w === undefined ? v : mul(v, w))
  const xc = sub(x, bc(saveMean))
  const xhat = mul(xc, r)
  const gbar = training ? chanMean(gy) : undefined
  const cBar = training ? chanMean(mul(gy, xhat)) : undefined
  const ggxXhat = ggx !== undefined && training ? chanMean(mul(ggx, xhat)) : undefined

  let dg: Value | undefined
  if (needsGrad("gy")) {
    if (ggx !== undefined) {
      dg = training ? builder.apply(batchNorm2dBackwardOp, { gy: ggx, x, save_mean: saveMean, save_invstd: saveInvstd, weight }, { training }).gx : withW(mul(ggx, r))
    }
    if (ggw !== undefined) dg = plus(dg, mul(bc(ggw), xhat))
    if (ggb !== undefined) dg = plus(dg, expand(bc(ggb), x.shape))
  }
  let dx: Value | undefined
  if (ggx !== undefined && training) dx = neg(withW(mul(mul(r, r), add(mul(ggx, cBar!), mul(gy, ggxXhat!)))))
  if (ggw !== undefined) dx = plus(dx, mul(mul(bc(ggw), r), gy))
  let dr: Value | undefined
  if (needsGrad("save_invstd")) {
    if (ggx !== undefined) {
      const term = training ? sub(chanSum(mul(ggx, sub(gy, gbar!))), scale(mul(reshape(cBar!, [c]), chanSum(mul(ggx, xhat))), 3)) : chanSum(mul(ggx, gy))
      dr = weight === undefined ? term : mul(term, weight)
    }
    if (ggw !== undefined) dr = plus(dr, mul(ggw, chanSum(mul(gy, xc))))
  }
  let dw: Value | undefined
  if (needsGrad("weight") && ggx !== undefined) {
    dw = chanSum(mul(mul(ggx, r), training ? sub(sub(gy, gbar!), mul(xhat, cBar!)) : gy))
  }
  return {
    gy: dg,
    x: needsGrad("x") ? dx : undefined,
    save_mean: needsGrad("save_mean") && dx !== undefined ? neg(chanSum(dx)) : undefined,
    save_invstd: dr,
    weight: dw,
  }
}

// ---------------------------------------------------------------- functional API

/** Options of {@link batchNorm2d}, as F.batch_norm's arguments: affine parameters, running statistics, `training`, `momentum`, `eps`. */
export interface BatchNorm2dOptions {
  readonly weight?: Value
  readonly bias?: Value
  readonly running_mean?: Value
  readonly running_var?: Value
  /** A scalar count of training batches seen (PyTorch's buffer); needed for momentum = null. */
  readonly num_batches_tracked?: Value
  /** Batch statistics (true) or running statistics (false, the default, as in F.batch_norm). */
  readonly training?: boolean
  /** Weight of the batch statistics in the running ones (default 0.1); null = cumulative average. */
  readonly momentum?: number | null
  readonly eps?: number
}

/** What {@link batchNorm2d} returns: `y`, and in training mode the updated buffers it was given. */
export interface BatchNormResult {
  readonly y: Value
  readonly running_mean?: Value
  readonly running_var?: Value
  readonly num_batches_tracked?: Value
}

/**
 * batch_norm on [N, C, *] input (any rank >= 2; the op keeps its historical name
 * batch_norm2d). Returns `y`, and in training mode the updated values of the buffers given
 * (`running_mean` / `running_var`, `num_batches_tracked`): write them back to the parameter
 * store after the step; they carry no gradient.
 *
 * @example
 * const { y, running_mean, running_var } = batchNorm2d(x, { weight, bias, running_mean: rm, running_var: rv, training: true })
 */
export function batchNorm2d(x: Value, options: BatchNorm2dOptions = {}): BatchNormResult {
  const { weight, bias, running_mean, running_var, num_batches_tracked, ...attrs } = options
  if (attrs.momentum === null && attrs.training === true && running_mean !== undefined && num_batches_tracked === undefined) {
    throw new AttrError("momentum = null (cumulative moving average) needs the num_batches_tracked input (expected a scalar count of batches seen)")
  }
  const out = x.builder.apply(batchNorm2dOp, { x, weight, bias, running_mean, running_var, num_batches_tracked }, attrs)
  if (attrs.training !== true) return { y: out.y }
  return {
    y: out.y,
    ...(running_mean !== undefined ? { running_mean: out.running_mean, running_var: out.running_var } : {}),
    ...(num_batches_tracked !== undefined ? { num_batches_tracked: out.num_batches_tracked } : {}),
  }
}

/**
 * torch.nn.functional.batch_norm: the same op as {@link batchNorm2d}, under PyTorch's
 * rank-generic name (for BatchNorm1d's [N, C] / [N, C, L] and BatchNorm3d's [N, C, D, H, W]).
 *
 * @example
 * const { y } = batchNorm(x, { running_mean: rm, running_var: rv }) // eval mode
 */
export const batchNorm = batchNorm2d

/** The normalisation family. */
export const normOps = [batchNorm2dOp, batchNorm2dBackwardOp] as const
