/**
 * Ops ONNX models use that dagrad's built-in set lacks, defined with the public defineOp
 * API (registered on first use, like any custom op).
 */
import type { Value } from "../../graph/builder.ts"
import { defineOp } from "../../graph/op.ts"
import { exp, mul, neg, scale } from "../../ops/pointwise/index.ts"
import { erf } from "../../kernels/pointwise/erf.ts"
import { requireFloat } from "../../ops/attrs.ts"

/** ONNX Erf: the Gauss error function, elementwise; d/dx erf(x) = 2/sqrt(pi) exp(-x^2). */
export const onnxErfOp = defineOp({
  name: "onnx_erf",
  doc: "erf(x), the Gauss error function (ONNX Erf)",
  inputs: ["x"],
  outputs: ["y"],
  infer: ({ x }) => {
    requireFloat(x, "x")
    return { y: x }
  },
  kernel: ({ inputs: { x }, outputs: { y } }) => {
    for (let i = 0; i < x.data.length; i++) y.data[i] = erf(x.data[i])
  },
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: mul(gy!, scale(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))) }),
})

/**
 * erf(x) as a graph node (what an imported ONNX Erf becomes).
 *
 * @example
 * const y = onnxErf(x)
 */
export const onnxErf = (x: Value): Value => x.builder.apply(onnxErfOp, { x }).y
