import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { add, addScalar, defineOp, div, exp, expand, flatten, log, mean, mul, neg, permute, pow, relu, reshape, scale, sigmoid, sub, sum, sumTo, tanh, tensor, transpose, type Value } from "../../src/index.ts"
import { checkGradients, checkOpLaws, distinctTensorArb, shapeArb } from "../../src/testing/index.ts"

const runs = { numRuns: 25 }

/** A pair of shapes that broadcast: b drops leading dims and sets some dims of a to 1. */
const broadcastPairArb = shapeArb({ maxRank: 3, maxDim: 3 }).chain((a) =>
  fc
    .tuple(fc.integer({ min: 0, max: a.length }), fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }))
    .map(([drop, ones]) => [a, a.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const),
)

describe("op laws: elementwise with broadcasting", () => {
  const binary: [string, (a: Value, b: Value) => Value][] = [
    ["add", add],
    ["sub", sub],
    ["mul", mul],
    ["div", div],
  ]
  for (const [name, f] of binary) {
    it(`${name}: shape, determinism, inputs untouched, gradient vs finite differences`, () => {
      fc.assert(
        fc.property(
          broadcastPairArb.chain(([sa, sb]) => fc.tuple(distinctTensorArb(sa, { offset: 0.3 }), distinctTensorArb(sb, { margin: 0.013, offset: 2.5 }))),
          ([a, b]) => {
            const r = checkOpLaws(({ a, b }) => f(a, b), { a, b })
            expect(r.violations).toEqual([])
          },
        ),
        runs,
      )
    })
  }

  const unary: [string, (x: Value) => Value, number][] = [
    ["neg", neg, 0],
    ["exp", exp, 0],
    ["log", log, 3], // offset keeps log's argument positive
    ["relu", relu, 0.005], // distinct values on a 0.01 grid offset by 0.005: never exactly 0
    ["sigmoid", sigmoid, 0],
    ["tanh", tanh, 0],
    ["pow 3", (x) => pow(x, 3), 0],
    ["pow 0.5", (x) => pow(x, 0.5), 3],
    ["scale", (x) => scale(x, -2.5), 0],
    ["add_scalar", (x) => addScalar(x, 4), 0],
  ]
  for (const [name, f, offset] of unary) {
    it(`${name}: laws`, () => {
      fc.assert(
        fc.property(
          shapeArb({ maxRank: 3 }).chain((s) => distinctTensorArb(s, { offset })),
          (x) => {
            expect(checkOpLaws(({ x }) => f(x), { x }).violations).toEqual([])
          },
        ),
        runs,
      )
    })
  }
})

describe("op laws: reductions and shape ops", () => {
  it("sum and mean over random axes, keepdim or not", () => {
    fc.assert(
      fc.property(
        shapeArb({ maxRank: 4, maxDim: 3 }).chain((s) =>
          fc.tuple(distinctTensorArb(s), fc.subarray(s.map((_, i) => i)), fc.boolean(), fc.boolean()),
        ),
        ([x, axes, keepdim, useMean]) => {
          const dim = axes.length === 0 ? null : axes
          const r = checkOpLaws(({ x }) => (useMean ? mean(x, dim, keepdim) : sum(x, dim, keepdim)), { x })
          expect(r.violations).toEqual([])
        },
      ),
      runs,
    )
  })

  it("permute, transpose, reshape, flatten, expand, sum_to", () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 2, maxRank: 4, maxDim: 3 }).chain((s) =>
          fc.tuple(distinctTensorArb(s), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length })),
        ),
        ([x, perm]) => {
          const rank = x.shape.length
          const fns: ((v: Value) => Value)[] = [
            (v) => permute(v, perm),
            (v) => transpose(v, 0, rank - 1),
            (v) => reshape(v, [-1]),
            (v) => flatten(v, 1),
            (v) => sumTo(expand(v, [2, ...v.shape]), v.shape),
            (v) => expand(reshape(v, [1, ...v.shape]), [3, ...v.shape]),
          ]
          for (const f of fns) expect(checkOpLaws(({ x }) => f(x), { x }).violations).toEqual([])
        },
      ),
      { numRuns: 15 },
    )
  })

  it("sum over dims [1, 2] matches a hand-worked case", () => {
    const r = checkOpLaws(({ x }) => sum(x, [1, 2]), { x: tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2], "float64") })
    expect(r.ok).toBe(true)
  })
})

describe("the checker checks", () => {
  it("catches a planted wrong gradient and names the worst element", () => {
    // cube with a deliberately wrong derivative 2x^2 instead of 3x^2
    const badCube = defineOp({
      name: "bad_cube_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: ({ inputs: { x }, outputs: { y } }) => {
        for (let i = 0; i < x.data.length; i++) y.data[i] = x.data[i] ** 3
      },
      grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: mul(gy!, scale(mul(x, x), 2)) }),
    })
    const x = tensor([0.5, -1, 2], [3], "float64")
    const report = checkGradients(({ x }, b) => b.apply(badCube, { x }).y, { x })
    expect(report.ok).toBe(false)
    expect(report.entries[0].coords).toEqual([2]) // the largest |x| has the largest error
    expect(report.summary).toMatch(/MISMATCH d\/dx: worst at \[2\]/)
  })

  it("catches a kernel that writes into its input", () => {
    const sneaky = defineOp({
      name: "sneaky_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: ({ inputs: { x }, outputs: { y } }) => {
        y.data.set(x.data)
        x.data[0] = 42
      },
    })
    const r = checkOpLaws(({ x }, b) => b.apply(sneaky, { x }).y, { x: tensor([1, 2], [2], "float64") }, { gradient: false })
    expect(r.violations.join()).toMatch(/wrote into input 'x'/)
  })
})

describe("poolConfigArb", () => {
  it("generates only configurations where every window reads at least one input element", async () => {
    const { poolConfigArb, hasWindowInPaddingOnly } = await import("../../src/testing/arbitraries.ts")
    // k=2, dilation=2, padding=1 on L=1 reads positions -1 and 1: a window of padding only
    expect(hasWindowInPaddingOnly({ inputShape: [1, 1, 1], attrs: { kernel_size: [2], stride: [1], padding: [1], dilation: [2], ceil_mode: false } })).toBe(true)
    expect(hasWindowInPaddingOnly({ inputShape: [1, 1, 3], attrs: { kernel_size: [2], stride: [1], padding: [1], dilation: [2], ceil_mode: false } })).toBe(false)
    fc.assert(fc.property(poolConfigArb(2, { maxDilation: 3 }), (c) => !hasWindowInPaddingOnly(c)), { numRuns: 200 })
  })
})
