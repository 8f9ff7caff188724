import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { GraphBuilder, Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { mapBinary, mapUnary } from "../../kernels/pointwise/broadcast.ts"
import { reluBackwardKernel, reluForward } from "../../kernels/pointwise/relu.ts"
import { assertValidShape, broadcastShapes, sameShape, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { sumTo } from "../reduce/index.ts"

/** Throws unless `spec` is a float tensor (elementwise math is not defined on indices). */
export function requireFloat(spec: TensorSpec, name: string): void {
  if (spec.dtype === "int32") throw new ShapeError(`input '${name}' is int32 (expected a float tensor)`)
}

export function requireNumber(value: unknown, name: string, check: (v: number) => boolean = Number.isFinite, expected = "a finite number"): number {
  if (typeof value !== "number" || !check(value)) throw new AttrError(`${name} = ${JSON.stringify(value)} (expected ${expected})`)
  return value
}

// ---------------------------------------------------------------- binary, broadcasting

function binaryOp(name: string, f: (a: number, b: number) => number, doc: string) {
  return defineOp({
    name,
    doc,
    inputs: ["a", "b"],
    outputs: ["y"],
    infer: ({ a, b }) => {
      requireFloat(a, "a")
      requireFloat(b, "b")
      return { y: { shape: broadcastShapes(a.shape, b.shape), dtype: a.dtype } }
    },
    kernel: ({ inputs: { a, b }, outputs: { y } }) => mapBinary(a.data, a.shape, b.data, b.shape, y.data, y.shape, f),
    overwritesOutputs: true,
  })
}

export const addOp = defineOp({
  ...binaryOp("add", (a, b) => a + b, "a + b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy } }) => ({ a: sumTo(gy!, a.shape), b: sumTo(gy!, b.shape) }),
})

export const subOp = defineOp({
  ...binaryOp("sub", (a, b) => a - b, "a - b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy }, needsGrad }) => ({
    a: sumTo(gy!, a.shape),
    b: needsGrad("b") ? sumTo(neg(gy!), b.shape) : undefined,
  }),
})

export const mulOp = defineOp({
  ...binaryOp("mul", (a, b) => a * b, "a * b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy }, needsGrad }) => ({
    a: needsGrad("a") ? sumTo(mul(gy!, b), a.shape) : undefined,
    b: needsGrad("b") ? sumTo(mul(gy!, a), b.shape) : undefined,
  }),
})

export const divOp = defineOp({
  ...binaryOp("div", (a, b) => a / b, "a / b with broadcasting"),
  // d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2 = -(a/b)/b
  grad: ({ inputs: { a, b }, outputs: { y }, grads: { y: gy }, needsGrad }) => ({
    a: needsGrad("a") ? sumTo(div(gy!, b), a.shape) : undefined,
    b: needsGrad("b") ? sumTo(neg(div(mul(gy!, y), b)), b.shape) : undefined,
  }),
})

// ---------------------------------------------------------------- unary

function unaryOp(name: string, f: (x: number) => number, doc: string) {
  return defineOp({
    name,
    doc,
    inputs: ["x"],
    outputs: ["y"],
    infer: ({ x }) => {
      requireFloat(x, "x")
      return { y: x }
    },
    kernel: ({ inputs: { x }, outputs: { y } }) => mapUnary(x.data, y.data, f),
    overwritesOutputs: true,
  })
}

export const negOp = defineOp({
  ...unaryOp("neg", (x) => -x, "-x"),
  grad: ({ grads: { y: gy } }) => ({ x: neg(gy!) }),
})

export const expOp = defineOp({
  ...unaryOp("exp", Math.exp, "e^x"),
  grad: ({ outputs: { y }, grads: { y: gy } }) => ({ x: mul(gy!, y) }),
})

export const logOp = defineOp({
  ...unaryOp("log", Math.log, "natural logarithm"),
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: div(gy!, x) }),
})

// PyTorch: relu(NaN) = NaN, relu(x <= 0) = 0. `!(x <= 0)` keeps NaN on the x path.
export const reluOp = defineOp({
  ...unaryOp("relu", (x) => (x <= 0 ? 0 : x), "max(x, 0); NaN stays NaN"),
  // A dedicated kernel: relu runs after every conv and linear layer; a closure call per
  // element through the shared mapUnary (many call sites, no inlining) costs ~3x, and
  // the branch on the sign another ~4x (see kernels/relu.ts).
  kernel: ({ inputs: { x }, outputs: { y } }) => reluForward(x.data, y.data),
  // The mask from the output: y > 0 exactly where x > 0 (and NaN where x is NaN), so
  // relu_backward(gy, y) = relu_backward(gy, x); reading y leaves relu the only reader of
  // x, which lets the executor fuse relu into the op that produces x.
  grad: ({ outputs: { y }, grads: { y: gy } }) => ({ x: reluBackward(gy!, y) }),
})

/**
 * The gradient of relu: gy where x > 0 (or x is NaN), else 0. At exactly x = 0 the
 * gradient is 0, as in PyTorch (its threshold_backward tests `x <= 0`).
 */
export const reluBackwardOp = defineOp({
  name: "relu_backward",
  doc: "gy * (x > 0); 0 at x = 0 like PyTorch",
  inputs: ["gy", "x"],
  outputs: ["y"],
  infer: ({ gy, x }) => {
    if (!sameShape(gy.shape, x.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} differ (expected equal shapes)`)
    return { y: gy }
  },
  kernel: ({ inputs: { gy, x }, outputs: { y } }) => reluBackwardKernel(gy.data, x.data, y.data),
  overwritesOutputs: true,
  // Linear in gy with the same mask; piecewise constant in x (gradient 0 almost everywhere).
  grad: ({ inputs: { x }, grads: { y: ggy } }) => ({ gy: reluBackward(ggy!, x) }),
})

export const sigmoidOp = defineOp({
  // Written so that large |x| neither overflows exp nor loses the tiny tail.
  ...unaryOp("sigmoid", (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))), "1 / (1 + e^-x)"),
  // dσ/dx = σ (1 - σ)
  grad: ({ outputs: { y }, grads: { y: gy } }) => ({ x: mul(gy!, mul(y, addScalar(neg(y), 1))) }),
})

export const tanhOp = defineOp({
  ...unaryOp("tanh", Math.tanh, "hyperbolic tangent"),
  // d tanh/dx = 1 - tanh^2
  grad: ({ outputs: { y }, grads: { y: gy } }) => ({ x: mul(gy!, addScalar(neg(mul(y, y)), 1)) }),
})

type PowAttrs = { exponent: number }
export const powOp = defineOp({
  name: "pow",
  doc: "x ** exponent (scalar exponent)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { exponent: number }): PowAttrs => ({ exponent: requireNumber(raw.exponent, "exponent") }),
  infer: ({ x }) => {
    requireFloat(x, "x")
    return { y: x }
  },
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { exponent } }) => {
    if (exponent === 2) mapUnary(x.data, y.data, (v) => v * v)
    else mapUnary(x.data, y.data, (v) => Math.pow(v, exponent))
  },
  // d x^p / dx = p x^(p-1); for p = 0 the derivative is 0 everywhere (PyTorch agrees).
  grad: ({ inputs: { x }, grads: { y: gy }, attrs: { exponent } }) => ({
    x: exponent === 0 ? scale(gy!, 0) : mul(gy!, scale(pow(x, exponent - 1), exponent)),
  }),
})

type ScalarAttrs = { value: number }
const scalarAttrs = (raw: { value: number }): ScalarAttrs => ({ value: requireNumber(raw.value, "value", (v) => typeof v === "number") })

export const scaleOp = defineOp({
  name: "scale",
  doc: "x * value (scalar)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: scalarAttrs,
  infer: ({ x }) => {
    requireFloat(x, "x")
    return { y: x }
  },
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { value } }) => {
    const xs = x.data
    const out = y.data
    for (let i = 0; i < out.length; i++) out[i] = xs[i] * value
  },
  grad: ({ grads: { y: gy }, attrs: { value } }) => ({ x: scale(gy!, value) }),
})

export const addScalarOp = defineOp({
  name: "add_scalar",
  doc: "x + value (scalar)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: scalarAttrs,
  infer: ({ x }) => {
    requireFloat(x, "x")
    return { y: x }
  },
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { value } }) => mapUnary(x.data, y.data, (v) => v + value),
  grad: ({ grads: { y: gy } }) => ({ x: gy! }),
})

type FullAttrs = { shape: number[]; value: number }
/** A constant tensor of the graph's dtype (gradient seeds, zeros). */
export const fullOp = defineOp({
  name: "full",
  doc: "a constant tensor filled with value",
  inputs: [],
  outputs: ["y"],
  attrs: (raw: { shape: readonly number[]; value: number }): FullAttrs => {
    if (!Array.isArray(raw.shape)) throw new AttrError(`shape = ${JSON.stringify(raw.shape)} (expected an array of sizes)`)
    assertValidShape(raw.shape)
    return { shape: [...raw.shape], value: requireNumber(raw.value, "value", (v) => typeof v === "number") }
  },
  infer: (_inputs, { shape }, { dtype }) => ({ y: { shape, dtype } }),
  kernel: ({ outputs: { y }, attrs: { value } }) => {
    if (value !== 0) y.data.fill(value)
  },
})

// ---------------------------------------------------------------- functional API

/** a + b (broadcasting). */
export const add = (a: Value, b: Value): Value => a.builder.apply(addOp, { a, b }).y
/** a - b (broadcasting). */
export const sub = (a: Value, b: Value): Value => a.builder.apply(subOp, { a, b }).y
/** a * b (broadcasting). */
export const mul = (a: Value, b: Value): Value => a.builder.apply(mulOp, { a, b }).y
/** a / b (broadcasting). */
export const div = (a: Value, b: Value): Value => a.builder.apply(divOp, { a, b }).y
export const neg = (x: Value): Value => x.builder.apply(negOp, { x }).y
export const exp = (x: Value): Value => x.builder.apply(expOp, { x }).y
export const log = (x: Value): Value => x.builder.apply(logOp, { x }).y
/** max(x, 0); the gradient at exactly 0 is 0, as in PyTorch. */
export const relu = (x: Value): Value => x.builder.apply(reluOp, { x }).y
export const reluBackward = (gy: Value, x: Value): Value => gy.builder.apply(reluBackwardOp, { gy, x }).y
export const sigmoid = (x: Value): Value => x.builder.apply(sigmoidOp, { x }).y
export const tanh = (x: Value): Value => x.builder.apply(tanhOp, { x }).y
export const pow = (x: Value, exponent: number): Value => x.builder.apply(powOp, { x }, { exponent }).y
export const scale = (x: Value, value: number): Value => x.builder.apply(scaleOp, { x }, { value }).y
export const addScalar = (x: Value, value: number): Value => x.builder.apply(addScalarOp, { x }, { value }).y
/** A constant of the builder's float dtype. */
export const full = (builder: GraphBuilder, shape: Shape, value: number): Value => builder.apply(fullOp, {}, { shape, value }).y

export const elementwiseOps = [
  addOp,
  subOp,
  mulOp,
  divOp,
  negOp,
  expOp,
  logOp,
  reluOp,
  reluBackwardOp,
  sigmoidOp,
  tanhOp,
  powOp,
  scaleOp,
  addScalarOp,
  fullOp,
] as const
