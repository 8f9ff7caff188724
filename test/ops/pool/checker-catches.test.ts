import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { scatterAddPlanes } from "../../../src/ops/pool/index.ts"
import { defineOp, maxPool2d, maxPool2dWithIndices, type Value } from "../../../src/index.ts"
import type { MaxPoolOptions } from "../../../src/ops/pool/max.ts"
import { checkGradients, distinctTensorArb, poolConfigArb } from "../../../src/testing/index.ts"

// The property tests must be able to fail. A max pool whose forward is right but whose
// backward scatters to argmax + 1 (an off-by-one index, clamped to the plane) is run
// through the same property the suite uses for the real op: fast-check must find a
// counterexample and shrink it to a small case.
const offByOneIndicesOp = defineOp({
  name: "off_by_one_indices_test",
  inputs: ["indices"],
  outputs: ["y"],
  attrs: (raw: { plane: number }) => ({ plane: raw.plane }),
  infer: ({ indices }) => ({ y: indices }),
  kernel: ({ inputs: { indices }, outputs: { y }, attrs: { plane } }) => {
    for (let i = 0; i < y.data.length; i++) y.data[i] = Math.min(indices.data[i] + 1, plane - 1)
  },
})

function brokenMaxPool2d(x: Value, a: MaxPoolOptions): Value {
  // forward: the real op; backward: the real indices shifted by one
  const { y, indices } = maxPool2dWithIndices(x, a)
  const plane = x.shape[2] * x.shape[3]
  const shifted = x.builder.apply(offByOneIndicesOp, { indices }, { plane }).y
  return x.builder.apply(routedOp, { y, x, indices: shifted }).out
}

// y's value with the gradient routed through `indices` (a custom op written like any other)
const routedOp = defineOp({
  name: "routed_test",
  inputs: ["y", "x", "indices"],
  outputs: ["out"],
  infer: ({ y }) => ({ out: y }),
  kernel: ({ inputs: { y }, outputs: { out } }) => out.data.set(y.data),
  grad: ({ inputs: { x, indices }, grads: { out: g } }) => ({ x: scatterAddPlanes(g!, indices, x.shape.slice(2)) }),
})

const problem = poolConfigArb(2, { maxKernel: 3, maxStride: 2 }).chain((c) => fc.tuple(fc.constant(c), distinctTensorArb(c.inputShape)))

describe("the pooling gradient property catches a broken gradient", () => {
  it("passes for the real max_pool2d", () => {
    fc.assert(fc.property(problem, ([c, x]) => checkGradients(({ x }) => maxPool2d(x, c.attrs), { x }).ok), { numRuns: 30, seed: 42 })
  })

  it("fails, and shrinks to a small case, for an argmax off by one", () => {
    const result = fc.check(fc.property(problem, ([c, x]) => checkGradients(({ x }) => brokenMaxPool2d(x, c.attrs), { x }).ok), { numRuns: 100, seed: 42 })
    expect(result.failed).toBe(true)
    const [[config]] = result.counterexample!
    // shrunk: one image, one channel, a handful of elements
    expect(config.inputShape[0] * config.inputShape[1]).toBe(1)
    expect(config.inputShape[2] * config.inputShape[3]).toBeLessThanOrEqual(9)
  })
})
