/**
 * Unary pointwise ops and activations, one rule each (see ./table.ts), with PyTorch's
 * conventions at kinks and for NaN written on the line that decides them.
 */
import { AttrError } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { full } from "../../graph/constant.ts"
import { erf } from "../../kernels/pointwise/erf.ts"
import { reluBackwardKernel, reluForward } from "../../kernels/pointwise/relu.ts"
import { requireNumber } from "../attrs.ts"
import { add, addScalar, div, mul, neg, scale, sub } from "./arithmetic.ts"
import { pointwiseOp, type PointwiseOp } from "./table.ts"

// ---------------------------------------------------------------- math

/** e^x; the derivative reads y = e^x (PyTorch: grad * result). */
export const expPointwise = pointwiseOp({
  name: "exp",
  doc: "e^x",
  saves: "y",
  f: Math.exp,
  df: (g, y) => g * y,
  d2: (G) => G,
})

/** Natural logarithm; the derivative is g / x (PyTorch: grad / self). */
export const logPointwise = pointwiseOp({
  name: "log",
  doc: "natural logarithm",
  saves: "x",
  f: Math.log,
  df: (g, x) => g / x,
  // d(g/x)/dx = -g/x^2
  d2: (G, x) => neg(div(G, mul(x, x))),
})

/** tanh; the derivative reads y: 1 - y^2. */
export const tanhPointwise = pointwiseOp({
  name: "tanh",
  doc: "hyperbolic tangent",
  saves: "y",
  f: Math.tanh,
  df: (g, y) => g * (1 - y * y),
  // d(1 - y^2)/dy = -2y
  d2: (G, y) => mul(G, scale(y, -2)),
})

/** 1 / (1 + e^-x), written so large |x| neither overflows nor loses the tail; derivative y (1 - y). */
export const sigmoidPointwise = pointwiseOp({
  name: "sigmoid",
  doc: "1 / (1 + e^-x)",
  saves: "y",
  f: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  df: (g, y) => g * (y * (1 - y)),
  // d(y (1 - y))/dy = 1 - 2y
  d2: (G, y) => mul(G, addScalar(scale(y, -2), 1)),
})

// ---------------------------------------------------------------- activations

/**
 * max(x, 0). PyTorch: relu(NaN) = NaN, and the gradient at exactly 0 is 0 (its
 * threshold_backward tests `x <= 0`). The derivative reads y: y > 0 exactly where x > 0
 * (NaN where x is NaN), which leaves relu the only reader of x, so the executor can fuse
 * relu into the op producing x. Dedicated kernels: relu runs after every conv and linear
 * layer, and a generic loop's call per element costs ~3x (see kernels/pointwise/relu.ts).
 */
export const reluPointwise = pointwiseOp({
  name: "relu",
  doc: "max(x, 0); NaN stays NaN",
  saves: "y",
  f: (x) => (x <= 0 ? 0 : x),
  df: (g, y) => (y <= 0 ? 0 : g),
  d2: "zero",
  kernels: {
    forward: ({ inputs: { x }, outputs: { y } }) => reluForward(x.data, y.data),
    backward: ({ inputs: { gy, x }, outputs: { y } }) => reluBackwardKernel(gy.data, x.data, y.data),
  },
  epilogue: true,
})

type LeakyReluAttrs = { negative_slope: number }
/** x if x > 0 else negative_slope * x; the slope is taken at 0 and at NaN (PyTorch's `x > 0` test). */
export const leakyReluPointwise = pointwiseOp({
  name: "leaky_relu",
  doc: "x if x > 0 else negative_slope * x",
  attrs: (raw: { negative_slope?: number }): LeakyReluAttrs => ({ negative_slope: requireNumber(raw.negative_slope ?? 0.01, "negative_slope") }),
  args: (negativeSlope: number = 0.01) => ({ negative_slope: negativeSlope }),
  saves: "x",
  f: (x, a) => (x > 0 ? x : x * a.negative_slope),
  df: (g, x, a) => (x > 0 ? g : g * a.negative_slope),
  d2: "zero",
})

type EluAttrs = { alpha: number }
/** x if x > 0 else alpha (e^x - 1); PyTorch tests `x <= 0`, so NaN takes the identity branch and 0 gets alpha. */
export const eluPointwise: PointwiseOp<[alpha?: number], { alpha?: number }, EluAttrs> = pointwiseOp({
  name: "elu",
  doc: "x if x > 0 else alpha * (exp(x) - 1)",
  attrs: (raw: { alpha?: number }): EluAttrs => ({ alpha: requireNumber(raw.alpha ?? 1, "alpha") }),
  args: (alpha: number = 1) => ({ alpha }),
  saves: "x",
  f: (x, a) => (x <= 0 ? a.alpha * Math.expm1(x) : x),
  df: (g, x, a) => (x <= 0 ? g * a.alpha * Math.exp(x) : g),
  // f''(x) G = (x <= 0 ? alpha e^x G : 0) = elu_backward(G, x) - relu_backward(G, x).
  d2: (G, x, a) => sub(eluPointwise.backward(G, x, a.alpha), reluPointwise.backward(G, x)),
})

type GeluAttrs = { approximate: "none" | "tanh" }
const SQRT1_2 = Math.SQRT1_2
const INV_SQRT_2PI = 1.1283791670955126 * Math.SQRT1_2 * 0.5 // 1 / sqrt(2 pi) = phi(0), as PyTorch forms it
const TANH_BETA = Math.SQRT2 * 1.1283791670955126 * 0.5 // sqrt(2/pi) as PyTorch forms it: M_SQRT2 * M_2_SQRTPI * 0.5
const TANH_KAPPA = 0.044715

/**
 * x Phi(x) ("none", via erf: PyTorch's x * 0.5 * (1 + erf(x / sqrt 2)), so tails match),
 * or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("tanh"). gelu'(0) = 0.5 in both.
 */
export const geluPointwise = pointwiseOp({
  name: "gelu",
  doc: "x * Phi(x); approximate='tanh' uses the tanh formula",
  attrs: (raw: { approximate?: "none" | "tanh" }): GeluAttrs => {
    const a = raw.approximate ?? "none"
    if (a !== "none" && a !== "tanh") throw new AttrError(`approximate = ${JSON.stringify(raw.approximate)} (expected "none" or "tanh")`)
    return { approximate: a }
  },
  args: (approximate: "none" | "tanh" = "none") => ({ approximate }),
  saves: "x",
  f: (v, a) => (a.approximate === "none" ? v * 0.5 * (1 + erf(v * SQRT1_2)) : 0.5 * v * (1 + Math.tanh(TANH_BETA * (v + TANH_KAPPA * v * v * v)))),
  // none: Phi(x) + x phi(x). tanh: with t = tanh(b (x + k x^3)), 0.5 (1 + t) + 0.5 x (1 - t^2) b (1 + 3k x^2).
  df: (g, v, a) => {
    if (a.approximate === "none") {
      const cdf = 0.5 * (1 + erf(v * SQRT1_2))
      const pdf = Math.exp(-0.5 * v * v) * INV_SQRT_2PI
      return g * (cdf + v * pdf)
    }
    const v2 = v * v
    const t = Math.tanh(TANH_BETA * (v + TANH_KAPPA * v2 * v))
    const inner = TANH_BETA * (1 + 3 * TANH_KAPPA * v2)
    return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * inner)
  },
  d2: (G, x, a) => mul(G, geluSecondDerivative(x, a.approximate)),
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

type SoftplusAttrs = { beta: number; threshold: number }
/**
 * log1p(e^(beta x)) / beta, or x where beta x > threshold (strictly), like PyTorch; the
 * derivative is sigmoid(beta x) as PyTorch writes it, z / (z + 1) with z = e^(beta x), and 1
 * above the threshold.
 */
export const softplusPointwise: PointwiseOp<[beta?: number, threshold?: number], { beta?: number; threshold?: number }, SoftplusAttrs> = pointwiseOp({
  name: "softplus",
  doc: "log(1 + exp(beta x)) / beta, linear above threshold",
  attrs: (raw: { beta?: number; threshold?: number }): SoftplusAttrs => ({
    beta: requireNumber(raw.beta ?? 1, "beta", (v) => Number.isFinite(v) && v !== 0, "a finite non-zero number"),
    threshold: requireNumber(raw.threshold ?? 20, "threshold", (v) => !Number.isNaN(v), "a number"),
  }),
  args: (beta: number = 1, threshold: number = 20) => ({ beta, threshold }),
  saves: "x",
  f: (v, a) => (v * a.beta > a.threshold ? v : Math.log1p(Math.exp(v * a.beta)) / a.beta),
  df: (g, v, a) => {
    const bx = v * a.beta
    if (bx > a.threshold) return g
    const z = Math.exp(bx)
    return (g * z) / (z + 1)
  },
  // f'' = beta s (1 - s) below the threshold, 0 above; s = softplus_backward(1, x) is exactly
  // 1 above, so beta s (1 - s) covers both regions.
  d2: (G, x, a) => {
    const s = softplusPointwise.backward(full(x.builder, x.shape, 1), x, a.beta, a.threshold)
    return mul(G, scale(mul(s, addScalar(neg(s), 1)), a.beta))
  },
})

/**
 * SiLU (swish with beta 1): x sigmoid(x), PyTorch's F.silu. Its derivative, as PyTorch's
 * silu_backward forms it: s (1 + x (1 - s)) with s = sigmoid(x); f''(x) = s (1 - s) (2 + x (1 - 2s)).
 */
export const siluPointwise = pointwiseOp({
  name: "silu",
  doc: "x * sigmoid(x)",
  saves: "x",
  f: (x) => x / (1 + Math.exp(-x)),
  df: (g, x) => {
    const s = 1 / (1 + Math.exp(-x))
    return g * (s * (1 + x * (1 - s)))
  },
  d2: (G, x) => {
    const s = sigmoid(x)
    return mul(G, mul(mul(s, addScalar(neg(s), 1)), addScalar(mul(x, addScalar(scale(s, -2), 1)), 2)))
  },
})

// ---------------------------------------------------------------- wrappers

/** e^x. */
export const exp = expPointwise.apply
/** Natural logarithm. */
export const log = logPointwise.apply
/** Hyperbolic tangent. */
export const tanh = tanhPointwise.apply
/** 1 / (1 + e^-x). */
export const sigmoid = sigmoidPointwise.apply
/**
 * max(x, 0); the gradient at exactly 0 is 0, as in PyTorch.
 * @example const h = relu(linear(x, w, b))
 */
export const relu = reluPointwise.apply
/** The gradient node of relu: gy where the saved output (or input) is > 0 or NaN, else 0. */
export const reluBackward = reluPointwise.backward
/**
 * leaky_relu(x) = x if x > 0 else negative_slope * x (default 0.01). The gradient at 0 is negative_slope.
 * @example const y = leakyRelu(x, 0.2)
 */
export const leakyRelu = leakyReluPointwise.apply
/** gy * leaky_relu'(x); the gradient node of leaky_relu. */
export const leakyReluBackward = leakyReluPointwise.backward
/**
 * elu(x) = x if x > 0 else alpha * (e^x - 1) (alpha default 1). The gradient at 0 is alpha.
 * @example const y = elu(x, 1.0)
 */
export const elu = eluPointwise.apply
/** gy * elu'(x); the gradient node of elu. */
export const eluBackward = eluPointwise.backward
/**
 * gelu(x) = x * Phi(x) (exact, via erf) or its tanh approximation.
 * @example const y = gelu(x, "tanh")
 */
export const gelu = geluPointwise.apply
/** gy * gelu'(x) (0.5 at 0); the gradient node of gelu. */
export const geluBackward = geluPointwise.backward
/**
 * softplus(x) = log(1 + e^(beta x)) / beta, or x where beta x > threshold (defaults 1, 20).
 * @example const y = softplus(x, 1, 20)
 */
export const softplus = softplusPointwise.apply
/** gy * softplus'(x) (1 strictly above the threshold); the gradient node of softplus. */
export const softplusBackward = softplusPointwise.backward
/**
 * silu(x) = x * sigmoid(x) (PyTorch's F.silu, swish with beta 1).
 * @example const y = silu(x)
 */
export const silu = siluPointwise.apply
/** gy * silu'(x); the gradient node of silu. */
export const siluBackward = siluPointwise.backward

/** Every unary pointwise rule's op and backward op. */
export const unaryPointwise = [expPointwise, logPointwise, tanhPointwise, sigmoidPointwise, reluPointwise, leakyReluPointwise, eluPointwise, geluPointwise, softplusPointwise, siluPointwise]
