import { ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { mul, neg, scale, sigmoid, sub } from "../pointwise/index.ts"
import { expand } from "../pointwise/index.ts"
import { crossEntropyBackwardOp, crossEntropyOp } from "./cross-entropy.ts"
import { nllLossBackwardOp, nllLossOp, reductionAttr, type LossReduction } from "./nll.ts"
import { requireFloat } from "../attrs.ts"

export { crossEntropyOp, crossEntropyBackwardOp, crossEntropy, crossEntropyBackward, type CrossEntropyOptions } from "./cross-entropy.ts"
export { nllLossOp, nllLossBackwardOp, nllLoss, nllLossBackward, type LossReduction, type NllLossOptions } from "./nll.ts"

/*
 * Elementwise losses: mse_loss and binary_cross_entropy_with_logits. Fused forward
 * kernels; gradients built from ordinary ops (so they differentiate again), with the
 * upstream gradient broadcast back over the elements:
 *   mse:  dl/dx = 2 (x - t) G,            dl/dt = -dl/dx
 *   bce:  dl/dx = (sigmoid(x) - t) G,     dl/dt = -x G
 * where G = gy (reduction none), gy (sum) or gy / n (mean).
 */

type ElementwiseLossAttrs = { reduction: LossReduction }
const elementwiseLossAttrs = (raw: { reduction?: LossReduction }): ElementwiseLossAttrs => ({ reduction: reductionAttr(raw.reduction) })

function elementwiseLossInfer({ x, target }: { readonly x: TensorSpec; readonly target: TensorSpec }, { reduction }: ElementwiseLossAttrs): { y: TensorSpec } {
  requireFloat(x, "x")
  if (target.dtype === "int32") throw new ShapeError(`target is int32 (expected a float tensor of x's shape ${showShape(x.shape)})`)
  if (!sameShape(x.shape, target.shape)) throw new ShapeError(`target ${showShape(target.shape)} differs from x ${showShape(x.shape)} (expected the same shape)`)
  return { y: { shape: reduction === "none" ? x.shape : [], dtype: x.dtype } }
}

/** The upstream gradient as G: broadcast to `shape` and scaled by 1/n for mean. */
function upstreamPerElement(gy: Value, shape: Shape, reduction: LossReduction, factor: number): Value {
  const n = sizeOf(shape)
  const g = scale(gy, reduction === "mean" ? factor / n : factor)
  return expand(g, shape)
}

/** mse_loss: mean / sum / none of (x - target)^2. */
export const mseLossOp = defineOp({
  name: "mse_loss",
  doc: "(x - target)^2, reduced",
  inputs: ["x", "target"],
  outputs: ["y"],
  attrs: elementwiseLossAttrs,
  infer: elementwiseLossInfer,
  kernel: ({ inputs: { x, target }, outputs: { y }, attrs: { reduction } }) => {
    const a = x.data
    const t = target.data
    if (reduction === "none") {
      for (let i = 0; i < a.length; i++) {
        const d = a[i] - t[i]
        y.data[i] = d * d
      }
      return
    }
    let total = 0
    for (let i = 0; i < a.length; i++) {
      const d = a[i] - t[i]
      total += d * d
    }
    y.data[0] = reduction === "mean" ? total / a.length : total
  },
  grad: ({ inputs: { x, target }, grads: { y: gy }, attrs: { reduction }, needsGrad }) => {
    const gx = mul(sub(x, target), upstreamPerElement(gy!, x.shape, reduction, 2))
    return { x: needsGrad("x") ? gx : undefined, target: needsGrad("target") ? neg(gx) : undefined }
  },
})

/**
 * binary_cross_entropy_with_logits in the stable form
 * l = max(x, 0) - x t + log1p(exp(-|x|)) (no overflow for any finite x).
 */
export const binaryCrossEntropyWithLogitsOp = defineOp({
  name: "binary_cross_entropy_with_logits",
  doc: "max(x, 0) - x t + log(1 + exp(-|x|)), reduced",
  inputs: ["x", "target"],
  outputs: ["y"],
  attrs: elementwiseLossAttrs,
  infer: elementwiseLossInfer,
  kernel: ({ inputs: { x, target }, outputs: { y }, attrs: { reduction } }) => {
    const a = x.data
    const t = target.data
    const none = reduction === "none"
    let total = 0
    for (let i = 0; i < a.length; i++) {
      const v = a[i]
      const l = (v > 0 ? v : 0) - v * t[i] + Math.log1p(Math.exp(-Math.abs(v)))
      if (none) y.data[i] = l
      else total += l
    }
    if (!none) y.data[0] = reduction === "mean" ? total / a.length : total
  },
  grad: ({ inputs: { x, target }, grads: { y: gy }, attrs: { reduction }, needsGrad }) => {
    const g = upstreamPerElement(gy!, x.shape, reduction, 1)
    return {
      x: needsGrad("x") ? mul(sub(sigmoid(x), target), g) : undefined,
      target: needsGrad("target") ? mul(neg(x), g) : undefined,
    }
  },
})

// ---------------------------------------------------------------- functional API

/**
 * Mean squared error. Output shape [] (or x's shape for reduction "none").
 * @example const loss = mseLoss(pred, target)            // mean
 * @example const total = mseLoss(pred, target, { reduction: "sum" })
 */
export const mseLoss = (x: Value, target: Value, options: { reduction?: LossReduction } = {}): Value =>
  x.builder.apply(mseLossOp, { x, target }, options).y

/**
 * Binary cross entropy on logits (sigmoid folded in, numerically stable).
 * @example const loss = binaryCrossEntropyWithLogits(logits, labels01)
 */
export const binaryCrossEntropyWithLogits = (x: Value, target: Value, options: { reduction?: LossReduction } = {}): Value =>
  x.builder.apply(binaryCrossEntropyWithLogitsOp, { x, target }, options).y

export const lossOps = [
  mseLossOp,
  binaryCrossEntropyWithLogitsOp,
  crossEntropyOp,
  crossEntropyBackwardOp,
  nllLossOp,
  nllLossBackwardOp,
] as const
