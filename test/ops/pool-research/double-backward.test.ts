// Double backward of the smooth pooling variants: LogSumExp pooling, SoftPool and stochastic
// pooling's eval mode (the probability-weighted mean). Each backward op has a gradient rule
// (a `*_backward_backward` kernel op); these tests check the first gradient AND the
// gradient of the gradient (with respect to x and to the upstream) against float64 central
// differences, over random window geometries (1-3d, padding, ceil_mode) on inputs away
// from the points where the functions are not smooth (stochastic pooling's kink at 0).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, tensor, type Tensor } from "../../../src/index.ts"
import { gradValues } from "../../../src/autodiff/grad.ts"
import type { Value } from "../../../src/graph/builder.ts"
import { mul } from "../../../src/ops/pointwise/index.ts"
import { sum } from "../../../src/ops/reduce/index.ts"
import { lsePool1d, lsePool2d, lsePool3d, softPool1d, softPool2d, softPool3d } from "../../../src/ops/pool-research/smooth.ts"
import { stochasticPool } from "../../../src/ops/pool-research/stochastic.ts"
import { Random } from "../../../src/tensor/random.ts"
import { checkGradients } from "../../../src/testing/gradcheck.ts"
import { checkOpLaws } from "../../../src/testing/laws.ts"
import { poolCaseArb } from "../../../src/testing/pool-arbitraries.ts"
import type { WindowPoolOptions } from "../../../src/ops/pool-research/windows.ts"

type Pool = (x: Value, attrs: WindowPoolOptions & { temperature?: number }) => Value

const POOLS: { readonly [name: string]: readonly [Pool, Pool, Pool] } = {
  lse: [lsePool1d, lsePool2d, lsePool3d],
  soft: [softPool1d, softPool2d, softPool3d],
  "stochastic eval": [1, 2, 3].map((d) => (x: Value, a: WindowPoolOptions) => stochasticPool(d as 1 | 2 | 3, x, a)) as unknown as readonly [Pool, Pool, Pool],
}

/**
 * Checks f's gradient and the gradient of its gradient by central differences: the second
 * check differentiates x, u -> ∂(Σ f(x)·u)/∂x with respect to both x and u (and checks the
 * op laws on that gradient graph).
 */
function checkTwice(f: (x: Value) => Value, x: Tensor, outShape: readonly number[], seed: number): void {
  const first = checkGradients(({ x: v }) => f(v), { x })
  expect(first.ok, `first gradient\n${first.summary}`).toBe(true)
  const rng = new Random(seed)
  const u = tensor(
    Array.from({ length: outShape.reduce((p, q) => p * q, 1) }, () => rng.uniform(-1, 1)),
    outShape,
    "float64",
  )
  // the op laws on the gradient graph: inferred shapes, same bits twice, inputs untouched,
  // and its gradient (with respect to x and u) against central differences
  const second = checkOpLaws(
    ({ x: v, u: up }, b) => {
      const [g] = gradValues(b, sum(mul(f(v), up)), [v])
      return g
    },
    { x, u },
    { wrt: ["x", "u"] },
  )
  expect(second.violations, "gradient of the gradient").toEqual([])
}

/** Random values with |v| in [0.2, 1.5], a quarter of them negative: away from 0, no ties in practice. */
function awayFromZero(shape: readonly number[], seed: number): Tensor {
  const rng = new Random(seed)
  const n = shape.reduce((p, q) => p * q, 1)
  return tensor(
    Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.25 ? -1 : 1) * rng.uniform(0.2, 1.5)),
    shape,
    "float64",
  )
}

function outputShape(f: (x: Value) => Value, shape: readonly number[]): readonly number[] {
  return f(new GraphBuilder({ dtype: "float64" }).input("x", shape)).shape
}

describe("double backward by finite differences (1-3d, padding, ceil_mode)", () => {
  for (const [name, pools] of Object.entries(POOLS)) {
    it(`${name}: gradient and gradient of the gradient`, () => {
      for (const dims of [1, 2, 3] as const) {
        fc.assert(
          fc.property(
            poolCaseArb("avg", dims, { maxBatch: 1, maxChannels: 2, maxExtra: 2 }),
            fc.constantFrom(0.5, 1, 2),
            fc.integer({ min: 1, max: 1 << 30 }),
            (c, temperature, seed) => {
              const a = c.attrs as { kernel_size: number[]; stride: number[]; padding: number[]; ceil_mode: boolean }
              const attrs = { kernel_size: a.kernel_size, stride: a.stride, padding: a.padding, ceil_mode: a.ceil_mode, ...(name === "stochastic eval" ? {} : { temperature }) }
              const f = (v: Value): Value => pools[dims - 1](v, attrs)
              checkTwice(f, awayFromZero(c.inputShape, seed), outputShape(f, c.inputShape), seed + 1)
            },
          ),
          { numRuns: 6 },
        )
      }
    })
  }
})

/** ∂(Σ_j c_j gx_j)/∂x for gx = ∂(Σ f(x))/∂x: one row of the Hessian when c is a unit vector. */
function hessianRow(f: (x: Value) => Value, x: readonly number[], c: readonly number[]): number[] {
  const b = new GraphBuilder({ dtype: "float64" })
  const xv = b.input("x", [1, 1, x.length])
  const cv = b.input("c", [1, 1, x.length])
  const [g] = gradValues(b, sum(f(xv)), [xv])
  const [h] = gradValues(b, sum(mul(g, cv)), [xv])
  return [...compile(b.graph, [h]).run({ x: tensor(x, [1, 1, x.length], "float64"), c: tensor(c, [1, 1, x.length], "float64") })[0].data]
}

describe("second derivatives worked by hand (one window of two)", () => {
  // x = [0, log 3], T = 1: w = softmax(x) = [1/4, 3/4]
  const x = [0, Math.log(3)]
  it("lse: ∂²y/∂x_i∂x_j = w_i (δ_ij - w_j) / T", () => {
    const h = hessianRow((v) => lsePool1d(v, { kernel_size: 2 }), x, [1, 0])
    expect(h[0]).toBeCloseTo(0.25 * 0.75, 14)
    expect(h[1]).toBeCloseTo(-0.25 * 0.75, 14)
    // temperature 2 divides by T (and changes w): w = softmax(x / 2) = [1, √3] / (1 + √3)
    const w0 = 1 / (1 + Math.sqrt(3))
    const h2 = hessianRow((v) => lsePool1d(v, { kernel_size: 2, temperature: 2 }), x, [1, 0])
    expect(h2[0]).toBeCloseTo((w0 * (1 - w0)) / 2, 14)
  })
  it("stochastic eval: y = (a² + b²)/(a + b) at [1, 3]: ∂²y/∂a² = 4b²/(a+b)³, ∂²y/∂a∂b = -4ab/(a+b)³", () => {
    const h = hessianRow((v) => stochasticPool(1, v, { kernel_size: 2 }), [1, 3], [1, 0])
    expect(h[0]).toBeCloseTo((4 * 9) / 64, 14)
    expect(h[1]).toBeCloseTo((-4 * 3) / 64, 14)
  })
  it("a window with no positive member routes like max pooling: second derivative 0", () => {
    const h = hessianRow((v) => stochasticPool(1, v, { kernel_size: 2 }), [-1, -0.5], [1, 1])
    expect(h).toEqual([0, 0])
  })
})
