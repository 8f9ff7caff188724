// Stochastic pooling (seeded sampling ∝ activation, probability-weighted eval) and mixed
// max-average pooling (fixed or learnable α): hand-worked values, sampling frequencies,
// gradients by finite differences and the tie-aware checker.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, tensor, type Tensor } from "../../../src/index.ts"
import { gradValues } from "../../../src/autodiff/grad.ts"
import { sigmoid } from "../../../src/ops/pointwise/index.ts"
import { sum } from "../../../src/ops/reduce/index.ts"
import { mixedPool, mixedPool2d } from "../../../src/ops/pool-research/mixed.ts"
import { stochasticPool, stochasticPool2d } from "../../../src/ops/pool-research/stochastic.ts"
import { checkTieAwareGradients } from "../../../src/research/tie-check.ts"
import { checkGradients } from "../../../src/testing/gradcheck.ts"
import { poolCaseArb, poolInputArb } from "../../../src/testing/pool-arbitraries.ts"

const t64 = (v: readonly number[], shape: readonly number[]): Tensor => tensor(v, shape, "float64")

function trainStep(x: Tensor, seed: number): { y: number[]; g: number[] } {
  const b = new GraphBuilder({ dtype: "float64" })
  const xv = b.input("x", x.shape)
  const y = stochasticPool(1, xv, { kernel_size: 2 }, b.input("seed", [], "int32"))
  const [g] = gradValues(b, sum(y), [xv])
  const [yt, gt] = compile(b.graph, [y, g]).run({ x, seed: tensor([seed], [], "int32") })
  return { y: [...yt.data], g: [...gt.data] }
}

describe("stochastic pooling", () => {
  it("training: draws each element with probability ∝ activation (400 seeds), routes the gradient to the draw", () => {
    const x = t64([1, 3, 0, 0, -1, 2], [1, 1, 6])
    let threes = 0
    for (let s = 1; s <= 400; s++) {
      const r = trainStep(x, s)
      if (r.y[0] === 3) threes++
      expect(r.g.slice(0, 2)).toEqual(r.y[0] === 3 ? [0, 1] : [1, 0])
      expect(r.y.slice(1)).toEqual([0, 2]) // all-zero window: max "first" fallback; negative members never drawn
      expect(r.g.slice(2)).toEqual([1, 0, 0, 1])
    }
    expect(threes / 400).toBeGreaterThan(0.75 - 0.07) // binomial sd 0.022: ±3 sd
    expect(threes / 400).toBeLessThan(0.75 + 0.07)
    expect(trainStep(x, 9)).toEqual(trainStep(x, 9))
  })

  it("eval: Σ a² / Σ a (worked by hand) and its gradient by finite differences", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const xv = b.input("x", [1, 1, 4])
    const y = stochasticPool(1, xv, { kernel_size: 2 })
    expect([...compile(b.graph, [y]).run({ x: t64([1, 3, 0, 0], [1, 1, 4]) })[0].data]).toEqual([2.5, 0])
    const x = t64([0.5, 1.7, 0.3, 2.2, 1.1, 0.9, 0.4, 1.3], [1, 2, 2, 2])
    const r = checkGradients(({ x }) => stochasticPool2d(x, { kernel_size: 2 }), { x })
    expect(r.ok, r.summary).toBe(true)
  })

  it("training needs an int32 scalar seed", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    expect(() => stochasticPool2d(b.input("x", [1, 1, 4, 4]), { kernel_size: 2 }, b.input("s", [2], "int32"))).toThrow(/stochastic_pool2d: seed is \[2\] int32/)
  })
})

describe("mixed max-average pooling", () => {
  it("α·max + (1 - α)·avg (worked by hand), fixed and learnable α", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const xv = b.input("x", [1, 1, 2, 2])
    const theta = b.input("theta", [1])
    const fixed = mixedPool2d(xv, { kernel_size: 2, alpha: 0.25 })
    const learn = mixedPool2d(xv, { kernel_size: 2, alpha: sigmoid(theta) })
    const [gTheta] = gradValues(b, sum(learn), [theta])
    const [f, l, g] = compile(b.graph, [fixed, learn, gTheta]).run({ x: t64([1, 2, 3, 6], [1, 1, 2, 2]), theta: t64([0], [1]) })
    expect(f.data[0]).toBeCloseTo(0.25 * 6 + 0.75 * 3, 14)
    expect(l.data[0]).toBeCloseTo(0.5 * 6 + 0.5 * 3, 14)
    expect(g.data[0]).toBeCloseTo(0.25 * (6 - 3), 14) // sigmoid'(0) (max - avg)
  })

  it("central differences pass on tie-free inputs; the tie-aware check passes on tie-heavy ones (1-2d)", () => {
    for (const dims of [1, 2] as const) {
      fc.assert(
        fc.property(
          poolCaseArb("avg", dims, { maxBatch: 1, maxChannels: 2, maxExtra: 2 }).chain((c) =>
            fc.tuple(poolInputArb(c.inputShape, "tie-free"), poolInputArb(c.inputShape, "tie-heavy"), fc.constantFrom(0, 0.3, 1)).map(([free, heavy, alpha]) => ({ c, free, heavy, alpha })),
          ),
          ({ c, free, heavy, alpha }) => {
            const a = c.attrs as { kernel_size: number[]; stride: number[]; padding: number[]; ceil_mode: boolean }
            const fn = ({ x }: { readonly [k: string]: import("../../../src/graph/builder.ts").Value }) => mixedPool(dims, x, { ...a, alpha })
            const plain = checkGradients(fn, { x: free })
            expect(plain.ok, plain.summary).toBe(true)
            const ties = checkTieAwareGradients(fn, { x: heavy })
            expect(ties.ok, `${JSON.stringify(a)} α=${alpha} x=${[...heavy.data]}\n${ties.summary}`).toBe(true)
          },
        ),
        { numRuns: 8 },
      )
    }
  })
})
