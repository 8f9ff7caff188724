// Deliberately wrong pooling gradients, written with the public defineOp API, for showing
// that the tie-aware checker and the metamorphic properties catch them. Forwards are right.
import { scatterAddPlanes } from "../../src/ops/pool/index.ts"
import { defineOp, maxPool1dWithIndices, mul, type Value } from "../../src/index.ts"
import { maxPoolAttrs, type MaxPoolAttrs, type MaxPoolOptions } from "../../src/ops/pool/max.ts"
import { avgPool1dBackwardOp, avgPoolAttrs, type AvgPoolAttrs, type AvgPoolOptions } from "../../src/ops/pool/avg.ts"
import { maxPoolWindowList } from "../../src/research/windows.ts"
import { poolOutputShape } from "../../src/ops/pool/geometry.ts"

function maxForward(x: ArrayLike<number>, shape: readonly number[], a: MaxPoolAttrs, y: { [i: number]: number }): void {
  maxPoolWindowList("max_pool1d", a, shape).members.forEach((m, o) => {
    let best = -Infinity
    for (const i of m) best = Math.max(best, x[i])
    y[o] = best
  })
}

function plantedMax(name: string, gradient: (gy: Value, x: Value, y: Value, a: MaxPoolAttrs) => Value) {
  const op = defineOp({
    name,
    inputs: ["x"],
    outputs: ["y"],
    attrs: (raw: MaxPoolOptions): MaxPoolAttrs => maxPoolAttrs(raw, 1),
    infer: ({ x }, a) => ({ y: { shape: poolOutputShape(x.shape, a), dtype: x.dtype } }),
    kernel: ({ inputs: { x }, outputs: { y }, attrs }) => maxForward(x.data, x.shape, attrs, y.data),
    grad: ({ inputs: { x }, outputs: { y }, grads: { y: gy }, attrs }) => ({ x: gradient(gy!, x, y, attrs) }),
  })
  return (x: Value, a: MaxPoolOptions): Value => x.builder.apply(op, { x }, a).y
}

/** WRONG: gx = scatter(gy · y) at the argmax (the upstream scaled by the max value). */
export const valueWeightedMaxPool1d = plantedMax("value_weighted_max_pool1d", (gy, x, y, a) =>
  scatterAddPlanes(mul(gy, y), maxPool1dWithIndices(x, a).indices, x.shape.slice(-1)),
)

const firstPositionOp = defineOp({
  name: "first_position_indices",
  inputs: ["x"],
  outputs: ["indices"],
  attrs: (raw: MaxPoolOptions): MaxPoolAttrs => maxPoolAttrs(raw, 1),
  infer: ({ x }, a) => ({ indices: { shape: poolOutputShape(x.shape, a), dtype: "int32" } }),
  kernel: ({ inputs: { x }, outputs: { indices }, attrs }) => {
    const w = maxPoolWindowList("max_pool1d", attrs, x.shape)
    w.members.forEach((m, o) => {
      indices.data[o] = m[0] % w.inPlane
    })
  },
})

/** WRONG: each window's upstream goes to the window's first position, wherever the max is. */
export const positionRoutedMaxPool1d = plantedMax("position_routed_max_pool1d", (gy, x, _y, a) =>
  scatterAddPlanes(gy, x.builder.apply(firstPositionOp, { x }, a).indices, x.shape.slice(-1)),
)

const wrongAvgOp = defineOp({
  name: "wrong_divisor_avg_pool1d",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: AvgPoolOptions): AvgPoolAttrs => avgPoolAttrs(raw, 1),
  infer: ({ x }, a) => ({ y: { shape: poolOutputShape(x.shape, { ...a, dilation: [1] }), dtype: x.dtype } }),
  // The forward is right: sum over the window / PyTorch's divisor.
  kernel: ({ inputs: { x }, outputs: { y }, attrs }) => {
    const w = maxPoolWindowList("max_pool1d", { ...attrs, dilation: [1] }, x.shape)
    const [k, s, p] = [attrs.kernel_size[0], attrs.stride[0], attrs.padding[0]]
    const L = x.shape[x.shape.length - 1]
    w.members.forEach((m, o) => {
      let total = 0
      for (const i of m) total += x.data[i]
      const start = (o % w.outPlane) * s - p
      const padded = Math.min(start + k, L + p) - start
      y.data[o] = total / (attrs.divisor_override ?? (attrs.count_include_pad ? padded : m.length))
    })
  },
  // The bug: the backward divides by kernel_size for every window.
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({
    x: x.builder.apply(avgPool1dBackwardOp, { gy: gy! }, { ...attrs, divisor_override: attrs.kernel_size[0], input_size: x.shape.slice(-1) }).y,
  }),
})

/**
 * WRONG: avg_pool1d whose gradient always divides by kernel_size, ignoring
 * count_include_pad = false and clipped ceil_mode windows.
 */
export const avgPool1dWithWrongDivisor = (x: Value, a: AvgPoolOptions): Value => x.builder.apply(wrongAvgOp, { x }, a).y
