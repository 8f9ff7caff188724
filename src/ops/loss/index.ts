import { ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { defineOp } from "../../graph/op.ts"
import { mapBinary } from "../../kernels/pointwise/broadcast.ts"
import type { DataArray } from "../../tensor/dtype.ts"
import { broadcastShapes, sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import { add, addScalar, expand, mul, neg, scale, sigmoid, softplus, sub, sumTo } from "../pointwise/index.ts"
import { crossEntropyBackwardOp, crossEntropyOp } from "./cross-entropy.ts"
import { nllLossBackwardOp, nllLossOp, reductionAttr, type LossReduction } from "./nll.ts"
import { requireFloat } from "../attrs.ts"

export { crossEntropyOp, crossEntropyBackwardOp, crossEntropy, crossEntropyBackward, type CrossEntropyOptions } from "./cross-entropy.ts"
export { nllLossOp, nllLossBackwardOp, nllLoss, nllLossBackward, type LossReduction, type NllLossOptions } from "./nll.ts"

/*
 * Elementwise losses: mse_loss and binary_cross_entropy_with_logits. Fused forward
 * kernels; gradients built from ordinary ops (so they differentiate again), with the
 * upstream gradient broadcast back over the elements:
 *   mse:  dl/dx = 2 (x - t) G,                      dl/dt = -dl/dx   (each summed to its shape)
 *   bce:  dl/dx = (lw sigmoid(x) - pw t) w G,       dl/dt = (-x + (pw - 1) softplus(-x)) w G
 * where G = gy (reduction none), gy (sum) or gy / n (mean), w is the optional `weight`, pw
 * the optional `pos_weight` and lw = 1 + (pw - 1) t (w = pw = 1 when absent).
 *
 * Broadcasting: mse_loss broadcasts x and target against each other as PyTorch does (its
 * result, and the n of "mean", are those of the broadcast shape). PyTorch also emits a
 * UserWarning then ("Using a target size that is different to the input size ... will
 * likely lead to incorrect results due to broadcasting"); dagrad computes the same values
 * and prints nothing (an engine running in a browser has no warning channel): compare the
 * shapes yourself when a mismatch would be a bug. binary_cross_entropy_with_logits
 * requires target of x's shape (PyTorch raises a ValueError otherwise); its weight and
 * pos_weight must broadcast to x's shape (pos_weight is typically [C], one per class in
 * the last dim). weight and pos_weight get no gradient (PyTorch does not implement one).
 */

type ElementwiseLossAttrs = { reduction: LossReduction }
const elementwiseLossAttrs = (raw: { reduction?: LossReduction }): ElementwiseLossAttrs => ({ reduction: reductionAttr(raw.reduction) })

function requireFloatTarget(x: TensorSpec, target: TensorSpec): void {
  requireFloat(x, "x")
  if (target.dtype === "int32") throw new ShapeError(`target is int32 (expected a float tensor of x's shape ${showShape(x.shape)})`)
}

/** The shape of l(x, target) before reduction: x and target broadcast (PyTorch's mse_loss). */
function broadcastLossShape(x: TensorSpec, target: TensorSpec): number[] {
  try {
    return broadcastShapes(x.shape, target.shape)
  } catch {
    throw new ShapeError(`target ${showShape(target.shape)} does not broadcast with x ${showShape(x.shape)} (expected equal shapes, or sizes 1 or equal aligned right)`)
  }
}

/** `data` of `shape` materialised at `target` (which `shape` broadcasts to). */
function broadcastTo(data: DataArray, shape: Shape, target: Shape): DataArray {
  if (sameShape(shape, target)) return data
  const out = new Float64Array(sizeOf(target))
  mapBinary(data, shape, ZERO, [], out, target, (a) => a)
  return out
}
const ZERO = new Float64Array(1)

/** Writes the per-element losses, or their sum / mean, into y. */
function reduceInto(y: DataArray, losses: DataArray, reduction: LossReduction): void {
  if (reduction === "none") {
    y.set(losses)
    return
  }
  let total = 0
  for (let i = 0; i < losses.length; i++) total += losses[i]
  y[0] = reduction === "mean" ? total / losses.length : total
}

/** The upstream gradient as G: broadcast to `shape` and scaled by 1/n for mean. */
function upstreamPerElement(gy: Value, shape: Shape, reduction: LossReduction, factor: number): Value {
  const n = sizeOf(shape)
  const g = scale(gy, reduction === "mean" ? factor / n : factor)
  return expand(g, shape)
}

/** mse_loss: mean / sum / none of (x - target)^2, x and target broadcast against each other. */
export const mseLossOp = defineOp({
  name: "mse_loss",
  doc: "(x - target)^2, reduced",
  inputs: ["x", "target"],
  outputs: ["y"],
  attrs: elementwiseLossAttrs,
  infer: ({ x, target }, { reduction }) => {
    requireFloatTarget(x, target)
    const shape = broadcastLossShape(x, target)
    return { y: { shape: reduction === "none" ? shape : [], dtype: x.dtype } }
  },
  kernel: ({ inputs: { x, target }, outputs: { y }, attrs: { reduction } }) => {
    const shape = broadcastShapes(x.shape, target.shape)
    const squares = reduction === "none" ? y.data : new Float64Array(sizeOf(shape))
    mapBinary(x.data, x.shape, target.data, target.shape, squares, shape, (a, t) => (a - t) * (a - t))
    if (reduction !== "none") reduceInto(y.data, squares, reduction)
  },
  grad: ({ inputs: { x, target }, grads: { y: gy }, attrs: { reduction }, needsGrad }) => {
    const d = sub(x, target) // broadcast shape
    const g = mul(d, upstreamPerElement(gy!, d.shape, reduction, 2))
    return { x: needsGrad("x") ? sumTo(g, x.shape) : undefined, target: needsGrad("target") ? sumTo(neg(g), target.shape) : undefined }
  },
})

function checkLossWeight(spec: TensorSpec | undefined, name: string, x: TensorSpec): void {
  if (spec === undefined) return
  requireFloat(spec, name)
  let ok: boolean
  try {
    ok = sameShape(broadcastShapes(spec.shape, x.shape), x.shape)
  } catch {
    ok = false
  }
  if (!ok) throw new ShapeError(`${name} ${showShape(spec.shape)} does not broadcast to x ${showShape(x.shape)} (expected sizes 1 or equal to x's, aligned right)`)
}

/**
 * binary_cross_entropy_with_logits in the stable form
 * l = w ((1 - t) x + lw (max(-x, 0) + log1p(exp(-|x|)))), lw = 1 + (pos_weight - 1) t
 * (PyTorch's; the last bracket is softplus(-x) = -log sigmoid(x), no overflow for any finite x).
 */
export const binaryCrossEntropyWithLogitsOp = defineOp({
  name: "binary_cross_entropy_with_logits",
  doc: "weight * ((1 - t) x + (1 + (pos_weight - 1) t) softplus(-x)), reduced",
  inputs: ["x", "target"],
  optionalInputs: ["weight", "pos_weight"],
  outputs: ["y"],
  attrs: elementwiseLossAttrs,
  infer: ({ x, target, weight, pos_weight }, { reduction }) => {
    requireFloatTarget(x, target)
    if (!sameShape(x.shape, target.shape)) throw new ShapeError(`target ${showShape(target.shape)} differs from x ${showShape(x.shape)} (expected the same shape)`)
    checkLossWeight(weight, "weight", x)
    checkLossWeight(pos_weight, "pos_weight", x)
    return { y: { shape: reduction === "none" ? x.shape : [], dtype: x.dtype } }
  },
  kernel: ({ inputs: { x, target, weight, pos_weight }, outputs: { y }, attrs: { reduction } }) => {
    const a = x.data
    const t = target.data
    const w = weight === undefined ? undefined : broadcastTo(weight.data, weight.shape, x.shape)
    const pw = pos_weight === undefined ? undefined : broadcastTo(pos_weight.data, pos_weight.shape, x.shape)
    const losses = reduction === "none" ? y.data : new Float64Array(a.length)
    for (let i = 0; i < a.length; i++) {
      const v = a[i]
      const lw = pw === undefined ? 1 : 1 + (pw[i] - 1) * t[i]
      const l = (1 - t[i]) * v + lw * ((v < 0 ? -v : 0) + Math.log1p(Math.exp(-Math.abs(v))))
      losses[i] = w === undefined ? l : l * w[i]
    }
    if (reduction !== "none") reduceInto(y.data, losses, reduction)
  },
  grad: ({ inputs: { x, target, weight, pos_weight }, grads: { y: gy }, attrs: { reduction }, needsGrad }) => {
    let g = upstreamPerElement(gy!, x.shape, reduction, 1)
    if (weight !== undefined) g = mul(g, weight)
    const gx = (): Value => {
      if (pos_weight === undefined) return mul(sub(sigmoid(x), target), g)
      const pt = mul(pos_weight, target)
      const lw = sub(addScalar(pt, 1), target) // 1 + (pw - 1) t
      return mul(sub(mul(lw, sigmoid(x)), pt), g)
    }
    const gt = (): Value => {
      if (pos_weight === undefined) return mul(neg(x), g)
      return mul(add(neg(x), mul(addScalar(pos_weight, -1), softplus(neg(x)))), g)
    }
    return { x: needsGrad("x") ? gx() : undefined, target: needsGrad("target") ? gt() : undefined }
  },
})

// ---------------------------------------------------------------- functional API

/**
 * Mean squared error; x and target broadcast against each other as in PyTorch (which warns
 * when their shapes differ; dagrad does not, see above). Output shape [] (or the broadcast
 * shape for reduction "none").
 * @example const loss = mseLoss(pred, target)            // mean
 * @example const total = mseLoss(pred, target, { reduction: "sum" })
 */
export const mseLoss = (x: Value, target: Value, options: { reduction?: LossReduction } = {}): Value =>
  x.builder.apply(mseLossOp, { x, target }, options).y

/** Options of {@link binaryCrossEntropyWithLogits}, under PyTorch's names. */
export interface BceWithLogitsOptions {
  readonly reduction?: LossReduction
  /** Per-element rescaling, broadcast to x's shape. */
  readonly weight?: Value
  /** Weight of positive examples, broadcast to x's shape (e.g. [C] = negatives / positives per class). */
  readonly pos_weight?: Value
}

/**
 * Binary cross entropy on logits (sigmoid folded in, numerically stable), with PyTorch's
 * optional `weight` and `pos_weight`.
 * @example const loss = binaryCrossEntropyWithLogits(logits, labels01)
 * @example const loss = binaryCrossEntropyWithLogits(logits, labels01, { pos_weight: pw }) // pw: [C]
 */
export const binaryCrossEntropyWithLogits = (x: Value, target: Value, options: BceWithLogitsOptions = {}): Value => {
  const { weight, pos_weight, ...attrs } = options
  return x.builder.apply(binaryCrossEntropyWithLogitsOp, { x, target, weight, pos_weight }, attrs).y
}

export const lossOps = [
  mseLossOp,
  binaryCrossEntropyWithLogitsOp,
  crossEntropyOp,
  crossEntropyBackwardOp,
  nllLossOp,
  nllLossBackwardOp,
] as const
