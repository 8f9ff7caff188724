// LogSumExp pooling and SoftPool: hand-worked values, the T -> 0 and T -> inf limits,
// finite differences of the gradient (1-3d, padding, ceil_mode), ties and non-finite inputs.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, tensor, type Tensor } from "../../../src/index.ts"
import { gradValues } from "../../../src/autodiff/grad.ts"
import { sum } from "../../../src/ops/reduce/index.ts"
import { checkGradients } from "../../../src/testing/gradcheck.ts"
import { poolCaseArb, poolInputArb } from "../../../src/testing/pool-arbitraries.ts"
import { lsePool1d, lsePool2d, lsePool3d, softPool1d, softPool2d, softPool3d, type SmoothPoolOptions } from "../../../src/ops/pool-research/smooth.ts"
import type { Value } from "../../../src/graph/builder.ts"

const POOLS = { lse: [lsePool1d, lsePool2d, lsePool3d], soft: [softPool1d, softPool2d, softPool3d] } as const

function run(f: (x: Value) => Value, x: Tensor): { y: number[]; g: number[] } {
  const b = new GraphBuilder({ dtype: "float64" })
  const xv = b.input("x", x.shape)
  const y = f(xv)
  const [g] = gradValues(b, sum(y), [xv])
  const [yt, gt] = compile(b.graph, [y, g]).run({ x })
  return { y: [...yt.data], g: [...gt.data] }
}

describe("lse_pool / soft_pool values (worked by hand)", () => {
  const x = tensor([0, Math.log(3)], [1, 1, 2], "float64")
  it("lse: T log(mean(exp(x/T))); gradient softmax(x/T)", () => {
    const r = run((v) => lsePool1d(v, { kernel_size: 2 }), x)
    expect(r.y[0]).toBeCloseTo(Math.log(2), 14) // log((1 + 3) / 2)
    expect(r.g[0]).toBeCloseTo(0.25, 14)
    expect(r.g[1]).toBeCloseTo(0.75, 14)
  })
  it("soft: softmax-weighted mean; gradient w_i (1 + x_i - y)", () => {
    const r = run((v) => softPool1d(v, { kernel_size: 2 }), x)
    const y = 0.75 * Math.log(3)
    expect(r.y[0]).toBeCloseTo(y, 14)
    expect(r.g[0]).toBeCloseTo(0.25 * (1 - y), 14)
    expect(r.g[1]).toBeCloseTo(0.75 * (1 + Math.log(3) - y), 14)
  })
  it("T -> 0 gives max pooling (ties shared equally); large T gives the mean", () => {
    const t = tensor([1, 3, 3, 2], [1, 1, 4], "float64")
    for (const f of [lsePool1d, softPool1d]) {
      const cold = run((v) => f(v, { kernel_size: 4, temperature: 1e-3 }), t)
      expect(cold.y[0]).toBeCloseTo(3, 2)
      expect(cold.g.map((v) => Number(v.toFixed(6)))).toEqual([0, 0.5, 0.5, 0])
    }
    expect(run((v) => lsePool1d(v, { kernel_size: 4, temperature: 1e6 }), t).y[0]).toBeCloseTo(2.25, 5)
    expect(run((v) => softPool1d(v, { kernel_size: 4, temperature: 1e6 }), t).y[0]).toBeCloseTo(2.25, 5)
  })
  it("large inputs do not overflow (the window max is subtracted)", () => {
    const r = run((v) => lsePool1d(v, { kernel_size: 2 }), tensor([1000, 1000], [1, 1, 2], "float64"))
    expect(r.y[0]).toBeCloseTo(1000, 10)
    expect(r.g).toEqual([0.5, 0.5])
  })
  it("NaN propagates to the output and the window's gradient; +inf shares equally", () => {
    const r = run((v) => softPool1d(v, { kernel_size: 2 }), tensor([NaN, 1, Infinity, 2], [1, 1, 4], "float64"))
    expect(Number.isNaN(r.y[0])).toBe(true)
    expect(r.g.slice(0, 2).every(Number.isNaN)).toBe(true)
    expect(r.y[1]).toBe(Infinity)
    expect(r.g.slice(2)).toEqual([1, 0])
  })
  it("rejects a non-positive temperature, naming the op", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    expect(() => lsePool2d(b.input("x", [1, 1, 4, 4]), { kernel_size: 2, temperature: 0 })).toThrow(/lse_pool2d: temperature = 0/)
  })
})

describe("finite differences over the pooling arbitraries (1-3d, padding, ceil_mode)", () => {
  for (const rule of ["lse", "soft"] as const) {
    it(`${rule}: analytic gradient = central differences`, () => {
      for (const dims of [1, 2, 3] as const) {
        fc.assert(
          fc.property(
            poolCaseArb("avg", dims, { maxBatch: 1, maxChannels: 2, maxExtra: 2 }).chain((c) => poolInputArb(c.inputShape, "tie-free").map((x) => ({ c, x }))),
            fc.constantFrom(0.5, 1, 2),
            ({ c, x }, temperature) => {
              const a = c.attrs as { kernel_size: number[]; stride: number[]; padding: number[]; ceil_mode: boolean }
              const attrs: SmoothPoolOptions = { kernel_size: a.kernel_size, stride: a.stride, padding: a.padding, ceil_mode: a.ceil_mode, temperature }
              const r = checkGradients(({ x }) => POOLS[rule][dims - 1](x, attrs), { x: tensor([...x.data].map((v) => v * 30), x.shape, "float64") }, { rtol: 1e-5, atol: 1e-7 })
              expect(r.ok, `${JSON.stringify(attrs)} ${x.shape}\n${r.summary}`).toBe(true)
            },
          ),
          { numRuns: 8 },
        )
      }
    })
  }
})
