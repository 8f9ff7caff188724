import { AttrError, KernelError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import type { DataArray } from "../../tensor/dtype.ts"
import { sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { requireFloat, requireNumber } from "../attrs.ts"

/*
 * nll_loss and the class-target conventions shared with cross_entropy (cross-entropy.ts).
 * x is [N, C, d...] (or unbatched [C]); a "sample" is one (n, d...) position; targets are
 * int32 class indices of shape [N, d...]. A sample whose target equals ignore_index
 * contributes 0; "mean" divides by the summed class weights of the kept samples (their
 * count without weights), as PyTorch does. An index outside [0, C) is a KernelError at
 * run time that names the sample and the value.
 */

/** How a loss reduces over samples, as PyTorch's `reduction`: "mean" (default), "sum", or "none" (one loss per sample). */
export type LossReduction = "mean" | "sum" | "none"

export function reductionAttr(raw: unknown): LossReduction {
  const r = raw ?? "mean"
  if (r !== "mean" && r !== "sum" && r !== "none") throw new AttrError(`reduction = ${JSON.stringify(raw)} (expected "mean", "sum" or "none")`)
  return r
}

/** Normalised attrs of nll_loss: `reduction` and `ignore_index` (default -100, as PyTorch). */
export type NllAttrs = { reduction: LossReduction; ignore_index: number }
/** Attrs of nll_loss as given: `reduction` (default "mean") and `ignore_index` (default -100). */
export type RawNllAttrs = { reduction?: LossReduction; ignore_index?: number }
export const nllAttrs = (raw: RawNllAttrs): NllAttrs => ({
  reduction: reductionAttr(raw.reduction),
  ignore_index: requireNumber(raw.ignore_index ?? -100, "ignore_index", Number.isInteger, "an integer"),
})

/** [samples outer (N), classes C, inner (prod d)] of x. Unbatched [C] is one sample. */
export function classLayout(shape: Shape): [number, number, number] {
  if (shape.length === 1) return [1, shape[0], 1]
  return [shape[0], shape[1], sizeOf(shape.slice(2))]
}

/** Shape of class-index targets and of per-sample losses: x's shape without the class dim. */
export function sampleShape(shape: Shape): number[] {
  return shape.length === 1 ? [] : [shape[0], ...shape.slice(2)]
}

export function checkLogits(x: TensorSpec): void {
  requireFloat(x, "x")
  if (x.shape.length === 0) throw new ShapeError(`x is a scalar (expected [N, C], [N, C, d...] or unbatched [C])`)
  const c = x.shape.length === 1 ? x.shape[0] : x.shape[1]
  if (c === 0) throw new ShapeError(`x ${showShape(x.shape)} has no classes (expected C >= 1)`)
}

export function checkClassTarget(x: TensorSpec, target: TensorSpec, allowProbabilities: boolean): void {
  if (target.dtype === "int32") {
    const want = sampleShape(x.shape)
    if (!sameShape(target.shape, want)) {
      throw new ShapeError(`class-index target ${showShape(target.shape)} does not match x ${showShape(x.shape)} (expected ${showShape(want)})`)
    }
  } else if (!allowProbabilities) {
    throw new ShapeError(`target is ${target.dtype} (expected int32 class indices of shape ${showShape(sampleShape(x.shape))})`)
  } else if (!sameShape(target.shape, x.shape)) {
    throw new ShapeError(
      `probability target ${showShape(target.shape)} does not match x ${showShape(x.shape)} (expected int32 class indices ${showShape(sampleShape(x.shape))} or float probabilities ${showShape(x.shape)})`,
    )
  }
}

export function checkWeight(x: TensorSpec, weight: TensorSpec | undefined): void {
  if (weight === undefined) return
  requireFloat(weight, "weight")
  const c = x.shape.length === 1 ? x.shape[0] : x.shape[1]
  if (!sameShape(weight.shape, [c])) throw new ShapeError(`weight ${showShape(weight.shape)} (expected one weight per class: [${c}])`)
}

export function lossShape(x: Shape, reduction: LossReduction): number[] {
  return reduction === "none" ? sampleShape(x) : []
}

/** The class index of sample s, checked; -1 when it equals ignore_index. */
export function classOf(target: DataArray, s: number, classes: number, ignoreIndex: number): number {
  const t = target[s]
  if (t === ignoreIndex) return -1
  if (t < 0 || t >= classes) {
    throw new KernelError(
      `target[${s}] = ${t} is out of range for ${classes} classes (expected 0 <= class < ${classes}, or ignore_index ${ignoreIndex})`,
    )
  }
  return t
}

/** Sum over non-ignored samples of their class weight: the divisor of "mean" for class indices. */
export function classWeightTotal(target: DataArray, weight: DataArray | undefined, classes: number, ignoreIndex: number): number {
  let total = 0
  for (let s = 0; s < target.length; s++) {
    const t = classOf(target, s, classes, ignoreIndex)
    if (t >= 0) total += weight === undefined ? 1 : weight[t]
  }
  return total
}


/** nll_loss on log-probabilities: l_s = -w_t x[s, t]; mean divides by the summed weights. */
export const nllLossOp = defineOp({
  name: "nll_loss",
  doc: "-x[target] (x: log-probabilities), reduced",
  inputs: ["x", "target"],
  optionalInputs: ["weight"],
  outputs: ["y"],
  attrs: nllAttrs,
  infer: ({ x, target, weight }, { reduction }) => {
    checkLogits(x)
    checkClassTarget(x, target, false)
    checkWeight(x, weight)
    return { y: { shape: lossShape(x.shape, reduction), dtype: x.dtype } }
  },
  kernel: ({ inputs: { x, target, weight }, outputs: { y }, attrs }) => {
    const [outer, classes, inner] = classLayout(x.shape)
    const xs = x.data
    const t = target.data
    const w = weight?.data
    const none = attrs.reduction === "none"
    let total = 0
    let weightTotal = 0
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const s = o * inner + k
        const c = classOf(t, s, classes, attrs.ignore_index)
        let l = 0
        if (c >= 0) {
          const wt = w === undefined ? 1 : w[c]
          l = -xs[o * classes * inner + c * inner + k] * wt
          weightTotal += wt
        }
        if (none) y.data[s] = l
        else total += l
      }
    }
    if (!none) y.data[0] = attrs.reduction === "sum" ? total : total / weightTotal
  },
  grad: ({ inputs: { x, target, weight }, grads: { y: gy }, attrs }) => ({
    x: nllLossBackward(gy!, target, weight, { ...attrs, input_shape: x.shape }),
  }),
})

type NllBackwardAttrs = NllAttrs & { input_shape: number[] }

/** d nll_loss / d x: -gy w_t (scaled for mean) at each sample's target class, 0 elsewhere. */
export const nllLossBackwardOp = defineOp({
  name: "nll_loss_backward",
  doc: "d nll_loss / d x",
  inputs: ["gy", "target"],
  optionalInputs: ["weight"],
  outputs: ["y"],
  attrs: (raw: RawNllAttrs & { input_shape: readonly number[] }): NllBackwardAttrs => {
    if (!Array.isArray(raw.input_shape) || raw.input_shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new AttrError(`input_shape = ${JSON.stringify(raw.input_shape)} (expected the shape of nll_loss's x)`)
    }
    return { ...nllAttrs(raw), input_shape: [...raw.input_shape] }
  },
  infer: ({ gy, target, weight }, { reduction, input_shape }, { dtype }) => {
    const x: TensorSpec = { shape: input_shape, dtype }
    checkLogits(x)
    checkClassTarget(x, target, false)
    checkWeight(x, weight)
    const want = lossShape(input_shape, reduction)
    if (!sameShape(gy.shape, want)) throw new ShapeError(`gy ${showShape(gy.shape)} (expected the loss shape ${showShape(want)})`)
    return { y: x }
  },
  kernel: ({ inputs: { gy, target, weight }, outputs: { y }, attrs }) => {
    const [outer, classes, inner] = classLayout(attrs.input_shape)
    const t = target.data
    const w = weight?.data
    const none = attrs.reduction === "none"
    const factor = attrs.reduction === "mean" ? 1 / classWeightTotal(t, w, classes, attrs.ignore_index) : 1
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const s = o * inner + k
        const c = classOf(t, s, classes, attrs.ignore_index)
        if (c < 0) continue
        y.data[o * classes * inner + c * inner + k] = -(none ? gy.data[s] : gy.data[0]) * factor * (w === undefined ? 1 : w[c])
      }
    }
  },
  // Linear in gy, and its transpose is nll_loss itself: <ggx, nll_backward(gy)> = <nll_loss(ggx), gy>.
  grad: ({ inputs: { target, weight }, grads: { y: ggx }, attrs }) => ({
    gy: nllLoss(ggx!, target, { reduction: attrs.reduction, ignore_index: attrs.ignore_index, weight }),
  }),
})


/** Options of {@link nllLoss}, as F.nll_loss's keyword arguments. */
export interface NllLossOptions {
  readonly reduction?: LossReduction
  /** Class index whose samples are skipped. Default -100. */
  readonly ignore_index?: number
  /** Per-class weights [C]. */
  readonly weight?: Value
}

/**
 * Negative log likelihood on log-probabilities x [N, C, d...] and int32 targets [N, d...].
 * @example const loss = nllLoss(logSoftmax(logits, 1), labels)
 */
export const nllLoss = (x: Value, target: Value, options: NllLossOptions = {}): Value => {
  const { weight, ...attrs } = options
  return x.builder.apply(nllLossOp, { x, target, weight }, attrs).y
}
/** d nll_loss / d x: -gy * w_t (scaled for mean) at each target, an x-shaped (input_shape) tensor. */
export const nllLossBackward = (gy: Value, target: Value, weight: Value | undefined, attrs: RawNllAttrs & { input_shape: readonly number[] }): Value =>
  gy.builder.apply(nllLossBackwardOp, { gy, target, weight }, attrs).y

