/**
 * `full`: a constant tensor of the graph's dtype. It is part of the core because the grad
 * transform seeds the backward pass with it (the scalar 1) and gives a `wrt` the loss does
 * not reach a zero gradient; ops and users make constants with it too.
 */
import { AttrError } from "../errors.ts"
import { assertValidShape, type Shape } from "../tensor/shape.ts"
import type { GraphBuilder, Value } from "./builder.ts"
import { defineOp } from "./op.ts"

type FullAttrs = { shape: number[]; value: number }

/** A constant tensor of the graph's float dtype, every element `value`. */
export const fullOp = defineOp({
  name: "full",
  doc: "a constant tensor filled with value",
  inputs: [],
  outputs: ["y"],
  attrs: (raw: { shape: readonly number[]; value: number }): FullAttrs => {
    if (!Array.isArray(raw.shape)) throw new AttrError(`shape = ${JSON.stringify(raw.shape)} (expected an array of sizes)`)
    assertValidShape(raw.shape)
    if (typeof raw.value !== "number") throw new AttrError(`value = ${JSON.stringify(raw.value)} (expected a number)`)
    return { shape: [...raw.shape], value: raw.value }
  },
  infer: (_inputs, { shape }, { dtype }) => ({ y: { shape, dtype } }),
  // Outputs arrive zero-filled (no overwritesOutputs), so zeros cost nothing.
  kernel: ({ outputs: { y }, attrs: { value } }) => {
    if (value !== 0) y.data.fill(value)
  },
})

/**
 * A constant of the builder's float dtype.
 *
 * @example
 * const ones = full(g, [2, 3], 1)
 */
export const full = (builder: GraphBuilder, shape: Shape, value: number): Value => builder.apply(fullOp, {}, { shape, value }).y
