import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import type { DataArray } from "../../tensor/dtype.ts"
import { normalizeAxis, sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { exp, mul, neg, sub } from "../pointwise/index.ts"
import { sum } from "../reduce/index.ts"
import { requireFloat } from "../attrs.ts"

/*
 * softmax / log_softmax along one dim, stable for large inputs: subtract the slice max
 * before exp. A -inf entry gives softmax 0 (log_softmax -inf); a slice that is entirely
 * -inf (or holds NaN / +inf) gives NaN, as in PyTorch, because the max itself is used.
 * Backward ops read the forward OUTPUT (PyTorch's _softmax_backward_data):
 *   softmax:     gx = y * (g - sum(g * y))
 *   log_softmax: gx = g - exp(y) * sum(g)
 * so a -inf entry gets gradient 0 (softmax) or exactly its upstream value (log_softmax).
 */

type DimAttrs = { dim: number }
const dimAttrs = (raw: { dim: number }): DimAttrs => {
  if (typeof raw.dim !== "number" || !Number.isInteger(raw.dim)) throw new AttrError(`dim = ${JSON.stringify(raw.dim)} (expected an integer)`)
  return { dim: raw.dim }
}

/** [outer, n, inner] of a tensor seen as slices along `dim`. */
export function sliceLayout(shape: Shape, dim: number): [number, number, number] {
  if (shape.length === 0) return [1, 1, 1]
  const d = normalizeAxis(dim, shape.length)
  return [sizeOf(shape.slice(0, d)), shape[d], sizeOf(shape.slice(d + 1))]
}

function forwardInfer({ x }: { readonly x: TensorSpec }, { dim }: DimAttrs): { y: TensorSpec } {
  requireFloat(x, "x")
  if (x.shape.length > 0) normalizeAxis(dim, x.shape.length)
  else if (dim !== 0 && dim !== -1) throw new ShapeError(`dim ${dim} out of range for a scalar (expected 0 or -1)`)
  return { y: x }
}

function backwardInfer({ gy, output }: { readonly gy: TensorSpec; readonly output: TensorSpec }, a: DimAttrs): { y: TensorSpec } {
  requireFloat(gy, "gy")
  if (!sameShape(gy.shape, output.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and output ${showShape(output.shape)} differ (expected equal shapes)`)
  return forwardInfer({ x: output }, a)
}

/**
 * Writes softmax (log = false) or log_softmax (log = true) of every slice of `x` along the
 * middle axis of [outer, n, inner] into `y`.
 */
export function softmaxKernel(x: DataArray, y: DataArray, outer: number, n: number, inner: number, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * n * inner + k
      const end = base + n * inner
      let m = -Infinity
      for (let i = base; i < end; i += inner) {
        const v = x[i]
        if (v > m || v !== v) m = v
      }
      let total = 0
      if (log) {
        for (let i = base; i < end; i += inner) total += Math.exp(x[i] - m)
        const lse = Math.log(total)
        for (let i = base; i < end; i += inner) y[i] = x[i] - m - lse
      } else {
        for (let i = base; i < end; i += inner) {
          const e = Math.exp(x[i] - m)
          y[i] = e
          total += e
        }
        for (let i = base; i < end; i += inner) y[i] = y[i] / total
      }
    }
  }
}

/** softmax(x, dim) = exp(x) / sum(exp(x)) along dim. */
export const softmaxOp = defineOp({
  name: "softmax",
  doc: "exp(x - max) / sum(exp(x - max)) along dim",
  inputs: ["x"],
  outputs: ["y"],
  attrs: dimAttrs,
  infer: forwardInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { dim } }) => {
    const [outer, n, inner] = sliceLayout(x.shape, dim)
    softmaxKernel(x.data, y.data, outer, n, inner, false)
  },
  grad: ({ outputs: { y }, grads: { y: gy }, attrs: { dim } }) => ({ x: softmaxBackward(gy!, y, dim) }),
})

/** log_softmax(x, dim) = x - max - log(sum(exp(x - max))) along dim. */
export const logSoftmaxOp = defineOp({
  name: "log_softmax",
  doc: "x - logsumexp(x) along dim",
  inputs: ["x"],
  outputs: ["y"],
  attrs: dimAttrs,
  infer: forwardInfer,
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { dim } }) => {
    const [outer, n, inner] = sliceLayout(x.shape, dim)
    softmaxKernel(x.data, y.data, outer, n, inner, true)
  },
  grad: ({ outputs: { y }, grads: { y: gy }, attrs: { dim } }) => ({ x: logSoftmaxBackward(gy!, y, dim) }),
})

/** gx = output * (gy - sum(gy * output, dim)), output = softmax(x). */
export const softmaxBackwardOp = defineOp({
  name: "softmax_backward",
  doc: "output * (gy - sum(gy * output)) along dim",
  inputs: ["gy", "output"],
  outputs: ["y"],
  attrs: dimAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, output }, outputs: { y }, attrs: { dim } }) => {
    const [outer, n, inner] = sliceLayout(output.shape, dim)
    const g = gy.data
    const s = output.data
    const out = y.data
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const base = o * n * inner + k
        const end = base + n * inner
        let dot = 0
        for (let i = base; i < end; i += inner) dot += g[i] * s[i]
        for (let i = base; i < end; i += inner) out[i] = s[i] * (g[i] - dot)
      }
    }
  },
  // gx_i = s_i g_i - s_i sum(g s). d/dg: softmax_backward(gg, s).
  // d/ds_j: gg_j (g_j - sum(g s)) - g_j sum(gg s).
  grad: ({ inputs: { gy, output }, grads: { y: ggx }, attrs: { dim }, needsGrad }) => {
    const gg = ggx!
    return {
      gy: needsGrad("gy") ? softmaxBackward(gg, output, dim) : undefined,
      output: needsGrad("output")
        ? sub(mul(gg, sub(gy, sum(mul(gy, output), dim, true))), mul(gy, sum(mul(gg, output), dim, true)))
        : undefined,
    }
  },
})

/** gx = gy - exp(output) * sum(gy, dim), output = log_softmax(x). */
export const logSoftmaxBackwardOp = defineOp({
  name: "log_softmax_backward",
  doc: "gy - exp(output) * sum(gy) along dim",
  inputs: ["gy", "output"],
  outputs: ["y"],
  attrs: dimAttrs,
  infer: backwardInfer,
  kernel: ({ inputs: { gy, output }, outputs: { y }, attrs: { dim } }) => {
    const [outer, n, inner] = sliceLayout(output.shape, dim)
    const g = gy.data
    const ls = output.data
    const out = y.data
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const base = o * n * inner + k
        const end = base + n * inner
        let total = 0
        for (let i = base; i < end; i += inner) total += g[i]
        for (let i = base; i < end; i += inner) out[i] = g[i] - Math.exp(ls[i]) * total
      }
    }
  },
  // gx_i = g_i - e^{l_i} sum(g). d/dg_j: gg_j - sum(gg e^l). d/dl_j: -gg_j e^{l_j} sum(g).
  grad: ({ inputs: { gy, output }, grads: { y: ggx }, attrs: { dim }, needsGrad }) => {
    const gg = ggx!
    const p = exp(output)
    return {
      gy: needsGrad("gy") ? sub(gg, sum(mul(gg, p), dim, true)) : undefined,
      output: needsGrad("output") ? neg(mul(mul(gg, p), sum(gy, dim, true))) : undefined,
    }
  },
})

/**
 * softmax along `dim` (negative counts from the end).
 * @example const probs = softmax(logits, 1)
 */
export const softmax = (x: Value, dim: number): Value => x.builder.apply(softmaxOp, { x }, { dim }).y
/**
 * log_softmax along `dim` (negative counts from the end), computed as x - logsumexp(x).
 * @example const logp = logSoftmax(logits, -1)
 */
export const logSoftmax = (x: Value, dim: number): Value => x.builder.apply(logSoftmaxOp, { x }, { dim }).y
/** output * (gy - sum(gy * output, dim)) for output = softmax(x, dim): softmax's gradient node. */
export const softmaxBackward = (gy: Value, output: Value, dim: number): Value => gy.builder.apply(softmaxBackwardOp, { gy, output }, { dim }).y
/** gy - exp(output) * sum(gy, dim) for output = log_softmax(x, dim): log_softmax's gradient node. */
export const logSoftmaxBackward = (gy: Value, output: Value, dim: number): Value =>
  gy.builder.apply(logSoftmaxBackwardOp, { gy, output }, { dim }).y

export const softmaxOps = [softmaxOp, logSoftmaxOp, softmaxBackwardOp, logSoftmaxBackwardOp] as const
