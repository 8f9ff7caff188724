/**
 * `accumulate`: the sum of two gradient contributions of one shape. The grad transform
 * emits it where an output feeds several consumers (fan-out), the way JAX's backward pass
 * emits its own `add_any`: the transform owns the one op it needs, so it works with any
 * registry. The sum is taken left to right in the order contributions arrive.
 */
import { ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { defineOp } from "../graph/op.ts"
import { sameShape } from "../tensor/shape.ts"

/** y = a + b for two tensors of one shape and dtype (no broadcasting). */
export const accumulateOp = defineOp({
  name: "accumulate",
  doc: "a + b: two gradient contributions of one shape",
  inputs: ["a", "b"],
  outputs: ["y"],
  infer: ({ a, b }) => {
    if (!sameShape(a.shape, b.shape) || a.dtype !== b.dtype) {
      throw new ShapeError(`a ${showShape(a.shape)} ${a.dtype} and b ${showShape(b.shape)} ${b.dtype} (expected one shape and dtype)`)
    }
    return { y: a }
  },
  kernel: ({ inputs: { a, b }, outputs: { y } }) => {
    const x = a.data
    const z = b.data
    const out = y.data
    for (let i = 0; i < out.length; i++) out[i] = x[i] + z[i]
  },
  overwritesOutputs: true,
  cost: ({ a }) => a.shape.reduce((n, d) => n * d, 1),
  grad: ({ grads: { y: gy } }) => ({ a: gy!, b: gy! }),
})

/** The sum of gradient contributions, left to right. */
export function accumulate(values: readonly Value[]): Value {
  let acc = values[0]
  for (let i = 1; i < values.length; i++) acc = acc.builder.apply(accumulateOp, { a: acc, b: values[i] }).y
  return acc
}
