import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { sameShape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { add, addScalar, exp, full, mul, neg, reluBackward, requireFloat, requireNumber, scale, sub, tanh } from "./arithmetic.ts"
import { erf } from "../../kernels/pointwise/erf.ts"
import { softmaxOps } from "../softmax/index.ts"

/*
 * Activations with PyTorch's exact conventions. Each op has a dedicated backward op
 * `<name>_backward(gy, x)` = gy * f'(x) (one fused loop instead of a chain of elementwise
 * nodes); the backward ops have gradient rules themselves, so double backward works:
 * linear in gy, and f''(x) built from ordinary ops.
 */

function unaryInfer({ x }: { readonly x: TensorSpec }): { y: TensorSpec } {
  requireFloat(x, "x")
  return { y: x }
}

function backwardInfer({ gy, x }: { readonly gy: TensorSpec; readonly x: TensorSpec }): { y: TensorSpec } {
  requireFloat(gy, "gy")
  requireFloat(x, "x")
  if (!sameShape(gy.shape, x.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} differ (expected equal shapes)`)
  return { y: gy }
}

// ---------------------------------------------------------------- leaky_relu

type LeakyReluAttrs = { negative_slope: number }
const leakyReluAttrs = (raw: { negative_slope?: number }): LeakyReluAttrs => ({
  negative_slope: requireNumber(raw.negative_slope ?? 0.01, "negative_slope"),
})

/** leaky_relu: x if x > 0 else negative_slope * x (NaN stays NaN). */
export const leakyReluOp = defineOp({
  name: "leaky_relu",
  doc: "x if x > 0 else negative_slope * x",
  inputs: ["x"],
  outputs: ["y"],
  attrs: leakyReluAttrs,
  infer: unaryInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { negative_slope: slope } }) => {
    const a = x.data
    const o = y.data
    for (let i = 0; i < o.length; i++) {
      const v = a[i]
      o[i] = v > 0 ? v : v * slope
    }
  },
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({ x: leakyReluBackward(gy!, x, attrs.negative_slope) }),
})

/** gy where x > 0, else gy * negative_slope: the slope is taken at x = 0 and at NaN (PyTorch's `x > 0` test). */
export const leakyReluBackwardOp = defineOp({
  name: "leaky_relu_backward",
  doc: "gy * (x > 0 ? 1 : negative_slope)",
  inputs: ["gy", "x"],
  outputs: ["y"],
  attrs: leakyReluAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, x }, outputs: { y }, attrs: { negative_slope: slope } }) => {
    const g = gy.data
    const a = x.data
    const o = y.data
    for (let i = 0; i < o.length; i++) o[i] = a[i] > 0 ? g[i] : g[i] * slope
  },
  // Linear in gy with the same mask; piecewise constant in x, so no x gradient.
  grad: ({ inputs: { x }, grads: { y: ggx }, attrs }) => ({ gy: leakyReluBackward(ggx!, x, attrs.negative_slope) }),
})

// ---------------------------------------------------------------- elu

type EluAttrs = { alpha: number }
const eluAttrs = (raw: { alpha?: number }): EluAttrs => ({ alpha: requireNumber(raw.alpha ?? 1, "alpha") })

/** elu: x if x > 0 else alpha * (e^x - 1). */
export const eluOp = defineOp({
  name: "elu",
  doc: "x if x > 0 else alpha * (exp(x) - 1)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: eluAttrs,
  infer: unaryInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { alpha } }) => {
    const a = x.data
    const o = y.data
    // PyTorch tests `x <= 0` for the exponential branch, so NaN takes the identity branch.
    for (let i = 0; i < o.length; i++) {
      const v = a[i]
      o[i] = v <= 0 ? alpha * Math.expm1(v) : v
    }
  },
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({ x: eluBackward(gy!, x, attrs.alpha) }),
})

/** gy * (x <= 0 ? alpha * e^x : 1): alpha at x = 0, as in PyTorch's elu_backward. */
export const eluBackwardOp = defineOp({
  name: "elu_backward",
  doc: "gy * (x <= 0 ? alpha * exp(x) : 1)",
  inputs: ["gy", "x"],
  outputs: ["y"],
  attrs: eluAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, x }, outputs: { y }, attrs: { alpha } }) => {
    const g = gy.data
    const a = x.data
    const o = y.data
    for (let i = 0; i < o.length; i++) {
      const v = a[i]
      o[i] = v <= 0 ? g[i] * alpha * Math.exp(v) : g[i]
    }
  },
  // f''(x) * G = (x <= 0 ? alpha e^x G : 0) = elu_backward(G, x) - relu_backward(G, x).
  grad: ({ inputs: { gy, x }, grads: { y: ggx }, attrs, needsGrad }) => {
    const gg = ggx!
    return {
      gy: eluBackward(gg, x, attrs.alpha),
      x: needsGrad("x") ? sub(eluBackward(mul(gg, gy), x, attrs.alpha), reluBackward(mul(gg, gy), x)) : undefined,
    }
  },
})

// ---------------------------------------------------------------- gelu

type GeluAttrs = { approximate: "none" | "tanh" }
const geluAttrs = (raw: { approximate?: "none" | "tanh" }): GeluAttrs => {
  const a = raw.approximate ?? "none"
  if (a !== "none" && a !== "tanh") throw new AttrError(`approximate = ${JSON.stringify(raw.approximate)} (expected "none" or "tanh")`)
  return { approximate: a }
}

const SQRT1_2 = Math.SQRT1_2
const INV_SQRT_2PI = 1.1283791670955126 * Math.SQRT1_2 * 0.5 // 1 / sqrt(2 pi) = phi(0), as PyTorch forms it
const TANH_BETA = Math.SQRT2 * 1.1283791670955126 * 0.5 // sqrt(2/pi) as PyTorch forms it: M_SQRT2 * M_2_SQRTPI * 0.5
const TANH_KAPPA = 0.044715

/** gelu: x * Phi(x) ("none", via erf), or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("tanh"). */
export const geluOp = defineOp({
  name: "gelu",
  doc: "x * Phi(x); approximate='tanh' uses the tanh formula",
  inputs: ["x"],
  outputs: ["y"],
  attrs: geluAttrs,
  infer: unaryInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { approximate } }) => {
    const a = x.data
    const o = y.data
    if (approximate === "none") {
      // PyTorch's formula x * 0.5 * (1 + erf(x / sqrt 2)) (not erfc), so tails match it.
      for (let i = 0; i < o.length; i++) {
        const v = a[i]
        o[i] = v * 0.5 * (1 + erf(v * SQRT1_2))
      }
    } else {
      for (let i = 0; i < o.length; i++) {
        const v = a[i]
        o[i] = 0.5 * v * (1 + Math.tanh(TANH_BETA * (v + TANH_KAPPA * v * v * v)))
      }
    }
  },
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({ x: geluBackward(gy!, x, attrs.approximate) }),
})

/**
 * gy * gelu'(x). none: Phi(x) + x phi(x). tanh: with u = sqrt(2/pi)(x + k x^3), t = tanh u,
 * 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi)(1 + 3k x^2). Both are 0.5 at x = 0.
 */
export const geluBackwardOp = defineOp({
  name: "gelu_backward",
  doc: "gy * gelu'(x)",
  inputs: ["gy", "x"],
  outputs: ["y"],
  attrs: geluAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, x }, outputs: { y }, attrs: { approximate } }) => {
    const g = gy.data
    const a = x.data
    const o = y.data
    if (approximate === "none") {
      for (let i = 0; i < o.length; i++) {
        const v = a[i]
        const cdf = 0.5 * (1 + erf(v * SQRT1_2))
        const pdf = Math.exp(-0.5 * v * v) * INV_SQRT_2PI
        o[i] = g[i] * (cdf + v * pdf)
      }
    } else {
      for (let i = 0; i < o.length; i++) {
        const v = a[i]
        const v2 = v * v
        const t = Math.tanh(TANH_BETA * (v + TANH_KAPPA * v2 * v))
        const inner = TANH_BETA * (1 + 3 * TANH_KAPPA * v2)
        o[i] = g[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * inner)
      }
    }
  },
  grad: ({ inputs: { gy, x }, grads: { y: ggx }, attrs, needsGrad }) => {
    const gg = ggx!
    return {
      gy: geluBackward(gg, x, attrs.approximate),
      x: needsGrad("x") ? mul(mul(gg, gy), geluSecondDerivative(x, attrs.approximate)) : undefined,
    }
  },
})

/**
 * gelu''(x) from graph ops. none: phi(x) (2 - x^2). tanh: with s = 1 - t^2 and
 * d = b(1 + 3k x^2): s (d - x t d^2 + 3 b k x^2) (differentiate the backward formula).
 */
function geluSecondDerivative(x: Value, approximate: "none" | "tanh"): Value {
  const x2 = mul(x, x)
  if (approximate === "none") return mul(scale(exp(scale(x2, -0.5)), INV_SQRT_2PI), addScalar(neg(x2), 2))
  const t = tanh(mul(x, scale(addScalar(scale(x2, TANH_KAPPA), 1), TANH_BETA))) // tanh(b (x + k x^3))
  const s = addScalar(neg(mul(t, t)), 1)
  const d = scale(addScalar(scale(x2, 3 * TANH_KAPPA), 1), TANH_BETA)
  return mul(s, add(sub(d, mul(mul(x, t), mul(d, d))), scale(x2, 3 * TANH_BETA * TANH_KAPPA)))
}

// ---------------------------------------------------------------- softplus

type SoftplusAttrs = { beta: number; threshold: number }
const softplusAttrs = (raw: { beta?: number; threshold?: number }): SoftplusAttrs => ({
  beta: requireNumber(raw.beta ?? 1, "beta", (v) => Number.isFinite(v) && v !== 0, "a finite non-zero number"),
  threshold: requireNumber(raw.threshold ?? 20, "threshold", (v) => !Number.isNaN(v), "a number"),
})

/** softplus: x if beta x > threshold (strict) else log1p(e^(beta x)) / beta, like PyTorch. */
export const softplusOp = defineOp({
  name: "softplus",
  doc: "log(1 + exp(beta x)) / beta, linear above threshold",
  inputs: ["x"],
  outputs: ["y"],
  attrs: softplusAttrs,
  infer: unaryInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { beta, threshold } }) => {
    const a = x.data
    const o = y.data
    for (let i = 0; i < o.length; i++) {
      const v = a[i]
      const bx = v * beta
      o[i] = bx > threshold ? v : Math.log1p(Math.exp(bx)) / beta
    }
  },
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({ x: softplusBackward(gy!, x, attrs.beta, attrs.threshold) }),
})

/** gy * (beta x > threshold ? 1 : sigmoid(beta x)), with sigmoid as PyTorch writes it: z / (z + 1), z = e^(beta x). */
export const softplusBackwardOp = defineOp({
  name: "softplus_backward",
  doc: "gy * sigmoid(beta x), 1 above threshold",
  inputs: ["gy", "x"],
  outputs: ["y"],
  attrs: softplusAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, x }, outputs: { y }, attrs: { beta, threshold } }) => {
    const g = gy.data
    const a = x.data
    const o = y.data
    for (let i = 0; i < o.length; i++) {
      const bx = a[i] * beta
      if (bx > threshold) o[i] = g[i]
      else {
        const z = Math.exp(bx)
        o[i] = (g[i] * z) / (z + 1)
      }
    }
  },
  // f''(x) = beta s (1 - s) below the threshold, 0 above; s' = softplus_backward(1, x) is
  // s below and exactly 1 above, so beta s' (1 - s') covers both regions.
  grad: ({ inputs: { gy, x }, grads: { y: ggx }, attrs, needsGrad }) => {
    const gg = ggx!
    let gx: Value | undefined
    if (needsGrad("x")) {
      const s = softplusBackward(full(x.builder, x.shape, 1), x, attrs.beta, attrs.threshold)
      gx = mul(mul(gg, gy), scale(mul(s, addScalar(neg(s), 1)), attrs.beta))
    }
    return { gy: softplusBackward(gg, x, attrs.beta, attrs.threshold), x: gx }
  },
})

// ---------------------------------------------------------------- functional API

/**
 * leaky_relu(x) = x if x > 0 else negative_slope * x. The gradient at 0 is negative_slope.
 * @example const y = leakyRelu(x, 0.2)
 */
export const leakyRelu = (x: Value, negativeSlope = 0.01): Value => x.builder.apply(leakyReluOp, { x }, { negative_slope: negativeSlope }).y
/** gy * leaky_relu'(x) (negative_slope at 0 and NaN); the gradient node of leaky_relu. */
export const leakyReluBackward = (gy: Value, x: Value, negativeSlope = 0.01): Value =>
  gy.builder.apply(leakyReluBackwardOp, { gy, x }, { negative_slope: negativeSlope }).y

/**
 * elu(x) = x if x > 0 else alpha * (e^x - 1). The gradient at 0 is alpha.
 * @example const y = elu(x, 1.0)
 */
export const elu = (x: Value, alpha = 1): Value => x.builder.apply(eluOp, { x }, { alpha }).y
/** gy * elu'(x) (alpha at 0); the gradient node of elu. */
export const eluBackward = (gy: Value, x: Value, alpha = 1): Value => gy.builder.apply(eluBackwardOp, { gy, x }, { alpha }).y

/**
 * gelu(x) = x * Phi(x) (exact, via erf) or its tanh approximation.
 * @example const y = gelu(x, "tanh")
 */
export const gelu = (x: Value, approximate: "none" | "tanh" = "none"): Value => x.builder.apply(geluOp, { x }, { approximate }).y
/** gy * gelu'(x) (0.5 at 0); the gradient node of gelu. */
export const geluBackward = (gy: Value, x: Value, approximate: "none" | "tanh" = "none"): Value =>
  gy.builder.apply(geluBackwardOp, { gy, x }, { approximate }).y

/**
 * softplus(x) = log(1 + e^(beta x)) / beta, or x where beta x > threshold.
 * @example const y = softplus(x, 1, 20)
 */
export const softplus = (x: Value, beta = 1, threshold = 20): Value => x.builder.apply(softplusOp, { x }, { beta, threshold }).y
/** gy * softplus'(x) (1 strictly above the threshold); the gradient node of softplus. */
export const softplusBackward = (gy: Value, x: Value, beta = 1, threshold = 20): Value =>
  gy.builder.apply(softplusBackwardOp, { gy, x }, { beta, threshold }).y

export { softmax, logSoftmax, softmaxBackward, logSoftmaxBackward, softmaxOp, logSoftmaxOp, softmaxBackwardOp, logSoftmaxBackwardOp } from "../softmax/index.ts"

export const activationOps = [
  leakyReluOp,
  leakyReluBackwardOp,
  eluOp,
  eluBackwardOp,
  geluOp,
  geluBackwardOp,
  softplusOp,
  softplusBackwardOp,
  ...softmaxOps,
] as const
