import { ShapeError, showShape } from "../../errors.ts"
import type { GraphBuilder, Value } from "../../graph/builder.ts"
import { sameShape, sizeOf } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { add, addScalar, div, exp, full, mul, neg, scale, sub } from "../pointwise/index.ts"
import { checkClassTarget, checkLogits, checkWeight, classLayout, classOf, classWeightTotal, lossShape, nllAttrs, nllLoss, sampleShape, type LossReduction, type NllAttrs, type RawNllAttrs } from "./nll.ts"
import { sum } from "../reduce/index.ts"
import { reshape } from "../shape/index.ts"
import { logSoftmaxBackward } from "../softmax/index.ts"
import { requireNumber } from "../attrs.ts"

/*
 * cross_entropy (fused log_softmax + pick), PyTorch's semantics; nll_loss and the shared
 * class-target helpers are in nll.ts.
 *
 * x is [N, C, d...] (or unbatched [C]); a "sample" s is one (n, d...) position. Targets
 * are int32 class indices of shape [N, d...] or float probabilities of x's shape. With
 * logp = log_softmax(x, 1), label smoothing e and class weights w (1 when absent):
 *   class index t: l_s = (1 - e) w_t (-logp_t) + (e / C) sum_c w_c (-logp_c)
 *   probabilities: l_s = -sum_c w_c q_c logp_c,   q = (1 - e) target + e / C
 * A sample whose target equals ignore_index contributes 0. "mean" divides by the summed
 * weight sum_s w_{t_s} of the non-ignored samples (= their count without weights) for
 * class indices, and by the number of samples for probabilities (the target is not
 * normalised).
 *
 * The forward saves log_probs (an optional output, computed when the backward consumes
 * it), and the backward is one loop: d l_s / d x_j = p_j A_s - B_sj, with p = exp(logp),
 *   class index:   A = (1 - e) w_t + (e / C) sum_c w_c,  B_j = (1 - e) w_t [j = t] + (e / C) w_j
 *   probabilities: A = sum_c w_c q_c,                    B_j = w_j q_j
 * which is softmax - onehot in the plain case.
 */

type CrossEntropyAttrs = NllAttrs & { label_smoothing: number }
type RawCrossEntropyAttrs = RawNllAttrs & { label_smoothing?: number }
const crossEntropyAttrs = (raw: RawCrossEntropyAttrs): CrossEntropyAttrs => ({
  ...nllAttrs(raw),
  label_smoothing: requireNumber(raw.label_smoothing ?? 0, "label_smoothing", (v) => v >= 0 && v <= 1, "a number in [0, 1]"),
})

// ---------------------------------------------------------------- cross_entropy

/** Fused cross entropy on logits: log_softmax over the class dim, then the (smoothed, weighted) pick. */
export const crossEntropyOp = defineOp({
  name: "cross_entropy",
  doc: "-log_softmax(x, 1)[target], reduced (class indices or probabilities)",
  inputs: ["x", "target"],
  optionalInputs: ["weight"],
  outputs: ["y"],
  optionalOutputs: ["log_probs"],
  attrs: crossEntropyAttrs,
  infer: ({ x, target, weight }, { reduction }) => {
    checkLogits(x)
    checkClassTarget(x, target, true)
    checkWeight(x, weight)
    return { y: { shape: lossShape(x.shape, reduction), dtype: x.dtype }, log_probs: x }
  },
  kernel: ({ inputs: { x, target, weight }, outputs: { y, log_probs }, attrs }) => {
    const [outer, classes, inner] = classLayout(x.shape)
    const xs = x.data
    const lp = log_probs?.data
    const t = target.data
    const w = weight?.data
    const out = y.data
    const e = attrs.label_smoothing
    const isClass = target.dtype === "int32"
    const none = attrs.reduction === "none"
    let total = 0
    let weightTotal = 0
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const s = o * inner + k
        const base = o * classes * inner + k
        const end = base + classes * inner
        let m = -Infinity
        for (let i = base; i < end; i += inner) {
          const v = xs[i]
          if (v > m || v !== v) m = v
        }
        let sumExp = 0
        for (let i = base; i < end; i += inner) sumExp += Math.exp(xs[i] - m)
        const lse = Math.log(sumExp) // logp_c = x_c - m - lse, as log_softmax computes it
        if (lp !== undefined) for (let i = base; i < end; i += inner) lp[i] = xs[i] - m - lse
        let l = 0
        if (isClass) {
          const c = classOf(t, s, classes, attrs.ignore_index)
          if (c >= 0) {
            const wt = w === undefined ? 1 : w[c]
            l = -(xs[base + c * inner] - m - lse) * wt
            if (e > 0) {
              let smooth = 0
              for (let j = 0, i = base; j < classes; j++, i += inner) smooth -= (xs[i] - m - lse) * (w === undefined ? 1 : w[j])
              l = (1 - e) * l + (e / classes) * smooth
            }
            weightTotal += wt
          }
        } else {
          for (let j = 0, i = base; j < classes; j++, i += inner) {
            const q = e > 0 ? (1 - e) * t[i] + e / classes : t[i]
            l -= (w === undefined ? 1 : w[j]) * q * (xs[i] - m - lse)
          }
        }
        if (none) out[s] = l
        else total += l
      }
    }
    if (!none) out[0] = attrs.reduction === "sum" ? total : total / (isClass ? weightTotal : outer * inner)
  },
  grad: ({ inputs: { x, target, weight }, outputs: { log_probs }, grads: { y: gy, log_probs: glp }, attrs, needsGrad }) => {
    const classDim = x.shape.length === 1 ? 0 : 1
    let gx: Value | undefined
    if (needsGrad("x")) {
      if (gy !== undefined) gx = crossEntropyBackward(gy, log_probs, target, weight, attrs)
      if (glp !== undefined) {
        const extra = logSoftmaxBackward(glp, log_probs, classDim)
        gx = gx === undefined ? extra : add(gx, extra)
      }
    }
    // Probability targets: dl_s/dtarget_c = -(1 - e) w_c logp_c (the e/C term is constant).
    let gt: Value | undefined
    if (needsGrad("target") && gy !== undefined && target.dtype !== "int32") {
      const perSample = attrs.reduction === "none" ? reshape(gy, x.shape.map((d, i) => (i === classDim ? 1 : d))) : gy
      let g = mul(log_probs, perSample)
      if (weight !== undefined) g = mul(g, reshape(weight, x.shape.map((d, i) => (i === classDim ? d : 1))))
      const samples = sizeOf(sampleShape(x.shape))
      gt = scale(g, -(1 - attrs.label_smoothing) * (attrs.reduction === "mean" ? 1 / samples : 1))
    }
    return { x: gx, target: gt }
  },
})

/**
 * The gradient of cross_entropy with respect to its logits, from the saved log_probs:
 * gy-scaled (p A - B) per sample (softmax - onehot in the plain case).
 */
export const crossEntropyBackwardOp = defineOp({
  name: "cross_entropy_backward",
  doc: "d cross_entropy / d x from the saved log_probs",
  inputs: ["gy", "log_probs", "target"],
  optionalInputs: ["weight"],
  outputs: ["y"],
  attrs: crossEntropyAttrs,
  infer: ({ gy, log_probs, target, weight }, { reduction }) => {
    checkLogits(log_probs)
    checkClassTarget(log_probs, target, true)
    checkWeight(log_probs, weight)
    const want = lossShape(log_probs.shape, reduction)
    if (!sameShape(gy.shape, want)) throw new ShapeError(`gy ${showShape(gy.shape)} (expected the loss shape ${showShape(want)})`)
    return { y: log_probs }
  },
  kernel: ({ inputs: { gy, log_probs, target, weight }, outputs: { y }, attrs }) => {
    const [outer, classes, inner] = classLayout(log_probs.shape)
    const lp = log_probs.data
    const t = target.data
    const w = weight?.data
    const g = gy.data
    const out = y.data
    const e = attrs.label_smoothing
    const isClass = target.dtype === "int32"
    const none = attrs.reduction === "none"
    let factor = 1
    if (attrs.reduction === "mean") factor = 1 / (isClass ? classWeightTotal(t, w, classes, attrs.ignore_index) : outer * inner)
    let weightSum = classes
    if (w !== undefined) {
      weightSum = 0
      for (let j = 0; j < classes; j++) weightSum += w[j]
    }
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const s = o * inner + k
        const base = o * classes * inner + k
        const coef = (none ? g[s] : g[0]) * factor
        if (isClass) {
          const c = classOf(t, s, classes, attrs.ignore_index)
          if (c < 0) continue // ignored: gradient stays 0
          if (e === 0 && w === undefined) {
            // the hot path of CNN training: softmax - onehot
            for (let j = 0, i = base; j < classes; j++, i += inner) out[i] = coef * Math.exp(lp[i])
            out[base + c * inner] -= coef
            continue
          }
          const wt = w === undefined ? 1 : w[c]
          const a = (1 - e) * wt + (e / classes) * weightSum
          for (let j = 0, i = base; j < classes; j++, i += inner) {
            out[i] = coef * (Math.exp(lp[i]) * a - (e / classes) * (w === undefined ? 1 : w[j]))
          }
          out[base + c * inner] -= coef * (1 - e) * wt
        } else {
          let a = 0
          for (let j = 0, i = base; j < classes; j++, i += inner) {
            const q = e > 0 ? (1 - e) * t[i] + e / classes : t[i]
            a += (w === undefined ? 1 : w[j]) * q
          }
          for (let j = 0, i = base; j < classes; j++, i += inner) {
            const q = e > 0 ? (1 - e) * t[i] + e / classes : t[i]
            out[i] = coef * (Math.exp(lp[i]) * a - (w === undefined ? 1 : w[j]) * q)
          }
        }
      }
    }
  },
  grad: (args) => crossEntropyDoubleBackward(args),
})

/**
 * Double backward of cross_entropy_backward, built from ordinary ops. With G the per-sample
 * upstream (times the reduction factor) and gx = G (p A - B):
 *   d/dgy:        factor * sum_j ggx_j (p_j A - B_j), reduced like the loss
 *   d/dlog_probs: ggx G A p
 *   d/dtarget_c:  G (1 - e) w_c (sum_j ggx_j p_j - ggx_c)        (probability targets)
 * Class-index pieces come from nll_loss (reduction none), which picks w_t * value at the
 * target and gives 0 for ignored samples: w_t = nll(-1), kept = nll(-1) without weights.
 */
function crossEntropyDoubleBackward({
  inputs: { gy, log_probs: logProbs, target, weight },
  grads: { y: ggx },
  attrs,
  needsGrad,
  builder,
}: {
  inputs: { gy: Value; log_probs: Value; target: Value; weight?: Value }
  grads: { y?: Value }
  attrs: CrossEntropyAttrs
  needsGrad: (name: "gy" | "log_probs" | "target" | "weight") => boolean
  builder: GraphBuilder
}): { gy?: Value; log_probs?: Value; target?: Value } {
  const gg = ggx!
  const shape = logProbs.shape
  const classDim = shape.length === 1 ? 0 : 1
  const classes = shape[classDim]
  const keptShape = shape.map((d, i) => (i === classDim ? 1 : d))
  const e = attrs.label_smoothing
  const isClass = target.dtype === "int32"
  const weightB = weight === undefined ? undefined : reshape(weight, shape.map((d, i) => (i === classDim ? d : 1)))
  const perSample = (v: Value): Value => reshape(v, keptShape) // [N, d...] -> [N, 1, d...]
  const pick = (v: Value, w: Value | undefined): Value =>
    perSample(nllLoss(v, target, { reduction: "none", ignore_index: attrs.ignore_index, weight: w })) // -w_t v_t

  // factor: 1 (sum, none), 1/S (mean, probabilities), 1/sum_s w_t (mean, class indices)
  let factor: Value | number = 1
  if (attrs.reduction === "mean") {
    factor = isClass
      ? div(full(builder, [], 1), nllLoss(full(builder, shape, -1), target, { reduction: "sum", ignore_index: attrs.ignore_index, weight }))
      : 1 / sizeOf(sampleShape(shape))
  }
  const applyFactor = (v: Value): Value => (typeof factor === "number" ? (factor === 1 ? v : scale(v, factor)) : mul(v, factor))
  const g = applyFactor(attrs.reduction === "none" ? perSample(gy) : gy)
  const p = exp(logProbs)
  let a: Value // A per sample, [N, 1, d...]
  let ggB: Value // sum_j ggx_j B_j per sample
  if (isClass) {
    const minusOne = full(builder, shape, -1)
    const wt = pick(minusOne, weight)
    const kept = weight === undefined ? wt : pick(minusOne, undefined)
    const weightTotal = weightB === undefined ? classes : undefined
    const smoothW = weightTotal !== undefined ? scale(kept, e * (weightTotal / classes)) : mul(kept, scale(sum(weightB!), e / classes))
    a = e > 0 ? add(scale(wt, 1 - e), smoothW) : wt
    ggB = scale(neg(pick(gg, weight)), 1 - e)
    if (e > 0) ggB = add(ggB, scale(mul(kept, sum(weightB === undefined ? gg : mul(gg, weightB), classDim, true)), e / classes))
  } else {
    const q = e > 0 ? addScalar(scale(target, 1 - e), e / classes) : target
    const wq = weightB === undefined ? q : mul(q, weightB)
    a = sum(wq, classDim, true)
    ggB = sum(mul(gg, wq), classDim, true)
  }
  const ggP = sum(mul(gg, p), classDim, true)
  let dgy: Value | undefined
  if (needsGrad("gy")) {
    const perSampleGrad = sub(mul(a, ggP), ggB) // [N, 1, d...]
    const factored = applyFactor(perSampleGrad)
    dgy = attrs.reduction === "none" ? reshape(factored, gy.shape) : sum(factored)
  }
  return {
    gy: dgy,
    log_probs: needsGrad("log_probs") ? mul(mul(gg, p), mul(g, a)) : undefined,
    target:
      needsGrad("target") && !isClass
        ? scale(mul(mul(g, sub(ggP, gg)), weightB ?? full(builder, [], 1)), 1 - e)
        : undefined,
  }
}

// ---------------------------------------------------------------- functional API

/** Options of {@link crossEntropy}, as F.cross_entropy's keyword arguments (`label_smoothing` default 0). */
export interface CrossEntropyOptions {
  readonly reduction?: LossReduction
  readonly label_smoothing?: number
  /** Class index whose samples are skipped (class-index targets). Default -100. */
  readonly ignore_index?: number
  /** Per-class weights [C]. */
  readonly weight?: Value
}

/**
 * Cross entropy on logits x [N, C, d...] against int32 class indices [N, d...] or float
 * probabilities of x's shape. Output [] (or [N, d...] for reduction "none").
 * @example const loss = crossEntropy(logits, labels)
 * @example const smooth = crossEntropy(logits, labels, { label_smoothing: 0.1 })
 */
export const crossEntropy = (x: Value, target: Value, options: CrossEntropyOptions = {}): Value => {
  const { weight, ...attrs } = options
  return x.builder.apply(crossEntropyOp, { x, target, weight }, attrs).y
}
/** d cross_entropy / d x from its saved log_probs output (softmax - onehot, generalised). */
export const crossEntropyBackward = (gy: Value, logProbs: Value, target: Value, weight: Value | undefined, attrs: RawCrossEntropyAttrs): Value =>
  gy.builder.apply(crossEntropyBackwardOp, { gy, log_probs: logProbs, target, weight }, attrs).y

