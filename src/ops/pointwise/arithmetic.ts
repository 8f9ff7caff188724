/**
 * Arithmetic: the broadcasting binary ops (add, sub, mul, div), and the linear or
 * parameterised unary ones whose gradients are themselves (neg, scale, add_scalar, pow,
 * where_nonzero). The other unary ops come from the rule table (./unary.ts).
 */
import { ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { defineOp } from "../../graph/op.ts"
import { mapBinary, mapUnary } from "../../kernels/pointwise/broadcast.ts"
import { broadcastShapes, sameShape } from "../../tensor/shape.ts"
import { requireFloat, requireNumber } from "../attrs.ts"
import { sumTo } from "./broadcast.ts"




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

/** The add op record (torch.add): a + b with broadcasting, inputs `a`, `b`, output `y` (see {@link add}). */
export const addOp = defineOp({
  ...binaryOp("add", (a, b) => a + b, "a + b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy } }) => ({ a: sumTo(gy!, a.shape), b: sumTo(gy!, b.shape) }),
})

/** The sub op record (torch.sub): a - b with broadcasting, inputs `a`, `b`, output `y` (see {@link sub}). */
export const subOp = defineOp({
  ...binaryOp("sub", (a, b) => a - b, "a - b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy }, needsGrad }) => ({
    a: sumTo(gy!, a.shape),
    b: needsGrad("b") ? sumTo(neg(gy!), b.shape) : undefined,
  }),
})

/** The mul op record (torch.mul): a * b with broadcasting, inputs `a`, `b`, output `y` (see {@link mul}). */
export const mulOp = defineOp({
  ...binaryOp("mul", (a, b) => a * b, "a * b with broadcasting"),
  grad: ({ inputs: { a, b }, grads: { y: gy }, needsGrad }) => ({
    a: needsGrad("a") ? sumTo(mul(gy!, b), a.shape) : undefined,
    b: needsGrad("b") ? sumTo(mul(gy!, a), b.shape) : undefined,
  }),
})

/** The div op record (torch.div): a / b with broadcasting, inputs `a`, `b`, output `y` (see {@link div}). */
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

/** -x. */
export const negOp = defineOp({
  ...unaryOp("neg", (x) => -x, "-x"),
  grad: ({ grads: { y: gy } }) => ({ x: neg(gy!) }),
})

type PowAttrs = { exponent: number }
/** The pow op record (torch.pow with a scalar exponent): x ** exponent, input `x`, output `y` (see {@link pow}). */
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

/** The scale op record: x * value for a scalar `value`, input `x`, output `y` (see {@link scale}). */
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

/** The add_scalar op record: x + value for a scalar `value`, input `x`, output `y` (see {@link addScalar}). */
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

/** v where m != 0 (or NaN), else 0: the mask LP pooling's gradient applies where a window's power sum is 0. */
export const whereNonzeroOp = defineOp({
  name: "where_nonzero",
  doc: "v where m != 0 (or NaN), else 0",
  inputs: ["v", "m"],
  outputs: ["y"],
  infer: ({ v, m }) => {
    if (!sameShape(v.shape, m.shape) || v.dtype === "int32" || m.dtype === "int32") {
      throw new ShapeError(`v ${showShape(v.shape)} ${v.dtype} and m ${showShape(m.shape)} ${m.dtype} (expected float tensors of equal shape)`)
    }
    return { y: v }
  },
  kernel: ({ inputs: { v, m }, outputs: { y } }) => {
    const vs = v.data
    const ms = m.data
    const out = y.data
    for (let i = 0; i < out.length; i++) out[i] = ms[i] === 0 ? 0 : vs[i]
  },
  overwritesOutputs: true,
  // Linear in v with a fixed mask; piecewise constant in m.
  grad: ({ inputs: { m }, grads: { y: g } }) => ({ v: whereNonzero(g!, m) }),
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
/** -x. */
export const neg = (x: Value): Value => x.builder.apply(negOp, { x }).y
/** x ** exponent (a number). */
export const pow = (x: Value, exponent: number): Value => x.builder.apply(powOp, { x }, { exponent }).y
/** x * value (a number). */
export const scale = (x: Value, value: number): Value => x.builder.apply(scaleOp, { x }, { value }).y
/** x + value (a number). */
export const addScalar = (x: Value, value: number): Value => x.builder.apply(addScalarOp, { x }, { value }).y
/** v where m != 0 (or NaN), else 0 (same shapes). */
export const whereNonzero = (v: Value, m: Value): Value => v.builder.apply(whereNonzeroOp, { v, m }).y
