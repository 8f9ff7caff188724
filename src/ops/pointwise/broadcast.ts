/**
 * Broadcasting and its adjoint: `expand` materialises a broadcast, `sum_to` sums a
 * broadcast tensor back down (what every broadcasting op's gradient needs). Each is the
 * other's gradient.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { defineOp } from "../../graph/op.ts"
import { mapBinary, sumToShape } from "../../kernels/pointwise/broadcast.ts"
import { assertValidShape, broadcastShapes, sameShape, type Shape } from "../../tensor/shape.ts"

type ShapeAttrs = { shape: number[] }
const shapeAttrs = (raw: { shape: readonly number[] }): ShapeAttrs => {
  if (!Array.isArray(raw.shape)) throw new AttrError(`shape = ${JSON.stringify(raw.shape)} (expected an array of sizes)`)
  assertValidShape(raw.shape)
  return { shape: [...raw.shape] }
}

/** Sums a broadcast tensor back down to `shape` (the adjoint of `expand`). */
export const sumToOp = defineOp({
  name: "sum_to",
  doc: "sum over broadcast dimensions down to shape",
  inputs: ["x"],
  outputs: ["y"],
  attrs: shapeAttrs,
  infer: ({ x }, { shape }) => {
    let target: number[]
    try {
      target = broadcastShapes(shape, x.shape)
    } catch {
      target = []
    }
    if (!sameShape(target, x.shape)) {
      throw new ShapeError(`cannot sum ${showShape(x.shape)} down to ${showShape(shape)} (expected ${showShape(shape)} to broadcast to ${showShape(x.shape)})`)
    }
    return { y: { shape, dtype: x.dtype } }
  },
  kernel: ({ inputs: { x }, outputs: { y } }) => sumToShape(x.data, x.shape, y.data, y.shape),
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: expand(gy!, x.shape) }),
})

/** Broadcasts x to `shape` (materialised), the adjoint of `sum_to`. */
export const expandOp = defineOp({
  name: "expand",
  doc: "broadcast to shape",
  inputs: ["x"],
  outputs: ["y"],
  attrs: shapeAttrs,
  infer: ({ x }, { shape }) => {
    let target: number[]
    try {
      target = broadcastShapes(x.shape, shape)
    } catch {
      target = []
    }
    if (!sameShape(target, shape)) throw new ShapeError(`cannot expand ${showShape(x.shape)} to ${showShape(shape)} (expected sizes 1 or equal, aligned right)`)
    return { y: { shape, dtype: x.dtype } }
  },
  kernel: ({ inputs: { x }, outputs: { y } }) => {
    const zero = new Float64Array(1)
    mapBinary(x.data, x.shape, zero, [], y.data, y.shape, (a) => a)
  },
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: sumTo(gy!, x.shape) }),
})

/** Sums x down to `shape`; x itself when the shapes already agree. */
export const sumTo = (x: Value, shape: Shape): Value => (sameShape(x.shape, shape) ? x : x.builder.apply(sumToOp, { x }, { shape }).y)
/** Broadcasts x to `shape`; x itself when the shapes already agree. */
export const expand = (x: Value, shape: Shape): Value => (sameShape(x.shape, shape) ? x : x.builder.apply(expandOp, { x }, { shape }).y)
