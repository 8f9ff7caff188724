// Float64 central-difference checks of every pooling op in 1-d, 2-d and 3-d over random
// valid configurations (fast-check: non-square kernels, strides, padding, dilation,
// ceil_mode), on inputs away from ties and kinks; then the backward ops (double backward).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d, adaptiveMaxPool1d, adaptiveMaxPool2d, adaptiveMaxPool3d, avgPool1d, avgPool2d, avgPool3d, gradValues, lpPool1d, lpPool2d, lpPool3d, maxPool1d, maxPool2d, maxPool3d, maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices, maxUnpool1d, maxUnpool2d, maxUnpool3d, mul, sum, tensor, type NanPolicy, type TiePolicy, type Value } from "../../../src/index.ts"
import { checkGradients, type GraphFunction } from "../../../src/testing/gradcheck.ts"
import { distinctTensorArb, poolConfigArb, tensorArb, type PoolConfig } from "../../../src/testing/arbitraries.ts"
import type { Tensor } from "../../../src/tensor/tensor.ts"
import { poolWindows } from "../../../src/ops/pool/geometry.ts"
import { avgPool2dBackwardOp, adaptiveAvgPool3dBackwardOp, maxPool1dBackwardTiesOp, maxPool2dBackwardOp, maxPool2dBackwardTiesOp, maxPool2dBackwardTiesTransposeOp, adaptiveMaxPool2dBackwardTiesOp, scatterAddPlanes, gatherPlanes } from "../../../src/ops/pool/index.ts"
import { randomTensor, run, t64, i32 } from "./helpers.ts"

const expectGrad = (fn: GraphFunction, inputs: { readonly [k: string]: Tensor }, wrt?: string[]): void => {
  const r = checkGradients(fn, inputs, { wrt })
  expect(r.ok, r.summary).toBe(true)
}

const maxOps = { 1: maxPool1d, 2: maxPool2d, 3: maxPool3d } as const
const avgOps = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const
const lpOps = { 1: lpPool1d, 2: lpPool2d, 3: lpPool3d } as const
const adaptiveAvgOps = { 1: adaptiveAvgPool1d, 2: adaptiveAvgPool2d, 3: adaptiveAvgPool3d } as const
const adaptiveMaxOps = { 1: adaptiveMaxPool1d, 2: adaptiveMaxPool2d, 3: adaptiveMaxPool3d } as const
const unpoolOps = { 1: maxUnpool1d, 2: maxUnpool2d, 3: maxUnpool3d } as const
const withIndicesOps = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const

/** Small configs (3-d gets smaller inputs so a run stays fast). */
const configs = (dims: 1 | 2 | 3, o: { dilation?: boolean; padding?: boolean } = {}) =>
  poolConfigArb(dims, { maxBatch: dims === 3 ? 1 : 2, maxChannels: 2, maxExtra: dims === 3 ? 1 : 3, maxDilation: o.dilation === false ? 1 : 2, padding: o.padding })

/** True when every window has an in-bounds element (a window of only padding outputs -inf). */
const noEmptyWindow = (c: PoolConfig): boolean => poolWindows(c.inputShape, c.attrs, false).axes.every((a) => a.count.every((n) => n > 0))

const runs = (dims: number): number => (dims === 3 ? 12 : 40)

for (const dims of [1, 2, 3] as const) {
  describe(`${dims}-d pooling gradients match finite differences`, () => {
    it(`max_pool${dims}d, every tie / NaN policy (equal away from ties)`, () => {
      const policies = fc.record({ tie: fc.constantFrom<TiePolicy>("first", "last", "split", "all"), nan: fc.constantFrom<NanPolicy>("propagate", "ignore") })
      fc.assert(
        fc.property(
          configs(dims).filter(noEmptyWindow).chain((c) => fc.tuple(fc.constant(c), distinctTensorArb(c.inputShape), policies)),
          ([c, x, p]) => expectGrad(({ x }) => maxOps[dims](x, { ...c.attrs, ...p }), { x }),
        ),
        { numRuns: runs(dims) },
      )
    })

    it(`avg_pool${dims}d with count_include_pad and divisor_override`, () => {
      const extra = fc.record({ count_include_pad: fc.boolean(), divisor_override: fc.constantFrom(null, 1, 3, -2) })
      fc.assert(
        fc.property(
          configs(dims, { dilation: false }).chain((c) => fc.tuple(fc.constant(c), tensorArb(c.inputShape), extra)),
          ([c, x, e]) => {
            const { dilation: _, ...a } = c.attrs
            expectGrad(({ x }) => avgOps[dims](x, { ...a, ...e }), { x })
          },
        ),
        { numRuns: runs(dims) },
      )
    })

    it(`lp_pool${dims}d for p = 1, 2, 3, 1.5`, () => {
      fc.assert(
        fc.property(
          configs(dims, { dilation: false, padding: false }).chain((c) =>
            fc.tuple(fc.constant(c), fc.constantFrom(1, 2, 3, 1.5)).chain(([c, p]) =>
              // p = 1, 2 are defined for any sign; fractional roots need positive sums
              fc.tuple(fc.constant(c), fc.constant(p), tensorArb(c.inputShape, p === 1 || p === 2 ? { min: -2, max: 2 } : { min: 0.5, max: 2 })),
            ),
          ),
          ([c, p, x]) => {
            // keep away from the kink at a zero window sum
            const { y } = { y: run((v) => lpOps[dims](v.x, { norm_type: p, kernel_size: c.attrs.kernel_size, stride: c.attrs.stride, ceil_mode: c.attrs.ceil_mode }), { x })[0] }
            fc.pre(Array.from(y.data).every((v) => Math.abs(v) > 1e-3))
            expectGrad(({ x }) => lpOps[dims](x, { norm_type: p, kernel_size: c.attrs.kernel_size, stride: c.attrs.stride, ceil_mode: c.attrs.ceil_mode }), { x })
          },
        ),
        { numRuns: runs(dims) },
      )
    })

    const adaptiveArb = fc.record({
      spatial: fc.array(fc.integer({ min: 1, max: dims === 3 ? 4 : 6 }), { minLength: dims, maxLength: dims }),
      out: fc.array(fc.integer({ min: 1, max: dims === 3 ? 4 : 7 }), { minLength: dims, maxLength: dims }),
    })

    it(`adaptive_avg_pool${dims}d and adaptive_max_pool${dims}d (output larger or smaller than input)`, () => {
      fc.assert(
        fc.property(
          adaptiveArb.chain((a) => fc.tuple(fc.constant(a), distinctTensorArb([1, 2, ...a.spatial]))),
          ([a, x]) => {
            expectGrad(({ x }) => adaptiveAvgOps[dims](x, a.out), { x })
            expectGrad(({ x }) => adaptiveMaxOps[dims](x, a.out), { x })
            expectGrad(({ x }) => adaptiveMaxOps[dims](x, a.out, { tie: "split" }), { x })
          },
        ),
        { numRuns: runs(dims) },
      )
    })

    it(`max_unpool${dims}d with indices from a non-overlapping max_pool${dims}d`, () => {
      fc.assert(
        fc.property(
          configs(dims, { dilation: false })
            .map((c): PoolConfig => ({ ...c, attrs: { ...c.attrs, stride: c.attrs.kernel_size, ceil_mode: false } }))
            .filter((c) => {
              try {
                return noEmptyWindow(c)
              } catch {
                return false
              }
            })
            .chain((c) => fc.tuple(fc.constant(c), distinctTensorArb(c.inputShape))),
          ([c, source]) => {
            const { kernel_size, stride, padding } = c.attrs
            let pooled: Tensor[]
            try {
              pooled = run((v) => {
                const r = withIndicesOps[dims](v.x, { kernel_size, stride, padding })
                return [r.y, r.indices]
              }, { x: source })
            } catch {
              return // kernel larger than the input: nothing to unpool
            }
            const [y, indices] = pooled
            // unpool back to the source size (PyTorch's usual output_size=x.size()) when that is allowed
            const size = c.inputShape.slice(2)
            const ok = size.every((L, i) => {
              const def = (y.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel_size[i]
              return def - stride[i] < L && L < def + stride[i]
            })
            if (!ok) return
            expectGrad(({ x, indices }) => unpoolOps[dims](x, indices, { kernel_size, stride, padding, output_size: size }), { x: y, indices })
          },
        ),
        { numRuns: runs(dims) },
      )
    })
  })
}

describe("backward ops are differentiable again (double backward)", () => {
  it("max_pool2d_backward is linear in gy; its gradient gathers at the indices", () => {
    const indices = i32([0, 3, 5, 7, 8, 8], [1, 2, 1, 3])
    const gy = randomTensor([1, 2, 1, 3], 1)
    expectGrad(({ gy, indices }) => gy.builder.apply(maxPool2dBackwardOp, { gy, indices }, { kernel_size: 3, stride: 1, input_size: [3, 5] }).y, { gy, indices })
  })

  it("avg_pool2d_backward's gradient is avg_pool2d with the same divisors", () => {
    const attrs = { kernel_size: [3, 2], stride: [2, 1], padding: [1, 1], ceil_mode: true, count_include_pad: true, input_size: [6, 5] }
    const gy = randomTensor([2, 1, 4, 6], 2)
    expectGrad(({ gy }) => gy.builder.apply(avgPool2dBackwardOp, { gy }, attrs).y, { gy })
    expectGrad(({ gy }) => gy.builder.apply(avgPool2dBackwardOp, { gy }, { ...attrs, count_include_pad: false }).y, { gy })
  })

  it("adaptive_avg_pool3d_backward", () => {
    const gy = randomTensor([1, 1, 2, 3, 4], 3)
    expectGrad(({ gy }) => gy.builder.apply(adaptiveAvgPool3dBackwardOp, { gy }, { output_size: [2, 3, 4], input_size: [3, 2, 5] }).y, { gy })
  })

  it("tie-policy backward ops and their transposes, on tie-heavy data", () => {
    const x = t64([1, 2, 2, 2, 2, 0, 0, 1, 2, 2, 2, 2], [1, 1, 3, 4])
    for (const tie of ["split", "all"] as const) {
      const attrs = { kernel_size: 2, stride: 1, tie, input_size: [3, 4] }
      const [y] = run((v) => maxPool2d(v.x, attrs), { x })
      const gy = randomTensor(y.shape, 4)
      const g = randomTensor(x.shape, 5)
      expectGrad(({ gy, x, y }) => gy.builder.apply(maxPool2dBackwardTiesOp, { gy, x, y }, attrs).y, { gy, x, y }, ["gy"])
      expectGrad(({ g, x, y }) => g.builder.apply(maxPool2dBackwardTiesTransposeOp, { g, x, y }, attrs).y, { g, x, y }, ["g"])
      const x1 = t64([3, 3, 1, 3, 0, 0], [1, 1, 6])
      const [y1] = run((v) => maxPool1d(v.x, { kernel_size: 3, tie }), { x: x1 })
      expectGrad(({ gy, x, y }) => gy.builder.apply(maxPool1dBackwardTiesOp, { gy, x, y }, { kernel_size: 3, tie, input_size: [6] }).y, { gy: randomTensor(y1.shape, 6), x: x1, y: y1 }, ["gy"])
      const [ya] = run((v) => adaptiveMaxPool2d(v.x, [2, 3], { tie }), { x })
      expectGrad(
        ({ gy, x, y }) => gy.builder.apply(adaptiveMaxPool2dBackwardTiesOp, { gy, x, y }, { output_size: [2, 3], tie, input_size: [3, 4] }).y,
        { gy: randomTensor(ya.shape, 7), x, y: ya },
        ["gy"],
      )
    }
  })

  it("gather_planes and scatter_add_planes are each other's gradient", () => {
    const indices = i32([0, 4, 4, 2, 1, 1], [1, 2, 3])
    expectGrad(({ x, indices }) => gatherPlanes(x, indices, 1), { x: randomTensor([1, 2, 5], 8), indices })
    expectGrad(({ g, indices }) => scatterAddPlanes(g, indices, [5]), { g: randomTensor([1, 2, 3], 9), indices })
  })

  it("lp_pool2d second derivative (the gradient graph is built from ordinary ops)", () => {
    for (const p of [1, 2, 3]) {
      const x = randomTensor([1, 2, 4, 5], 10 + p, 0.5, 1.5)
      const u = randomTensor([1, 2, 2, 3], 20 + p)
      const fn: GraphFunction = ({ x, u }, b) => gradValues(b, sum(mul(lpPool2d(x, { norm_type: p, kernel_size: 2, ceil_mode: true }), u)), [x])[0]
      expectGrad(fn, { x, u }, ["x", "u"])
    }
  })

  it("lp_pool gradient is exactly 0 where the window sum is 0, and NaN where PyTorch's is", () => {
    const x = t64([0, 0, 1, 2, -1, -1, 0.5, 0.25], [1, 1, 8])
    const b = (v: { readonly [k: string]: Value }) => lpPool1d(v.x, { norm_type: 2, kernel_size: 2 })
    const g = gradOf(b, x, [1, 1, 1, 1])
    expect(g.slice(0, 2)).toEqual([0, 0])
    expect(g[2]).toBeCloseTo(1 / Math.sqrt(5), 12)
    // p = 3 with a negative window sum: (negative) ** (1/3) is NaN in PyTorch, and so is its gradient
    const [y3] = run((v) => lpPool1d(v.x, { norm_type: 3, kernel_size: 2 }), { x })
    expect(y3.data[2]).toBeNaN()
    const g3 = gradOf((v) => lpPool1d(v.x, { norm_type: 3, kernel_size: 2 }), x, [1, 1, 1, 1])
    expect(g3[4]).toBeNaN()
    expect(g3.slice(0, 2)).toEqual([0, 0])
    // p = 1 is a signed sum: gradient K/n = 1 everywhere but a zero-sum window
    const g1 = gradOf((v) => lpPool1d(v.x, { norm_type: 1, kernel_size: 2 }), t64([1, -1, 2, 3], [1, 1, 4]), [5, 7])
    expect(g1).toEqual([0, 0, 7, 7])
  })
})

function gradOf(build: (v: { readonly [k: string]: Value }) => Value, x: Tensor, upstream: number[]): number[] {
  const [g] = runGrad(build, x, upstream)
  return Array.from(g.data)
}

function runGrad(build: (v: { readonly [k: string]: Value }) => Value, x: Tensor, upstream: number[]): Tensor[] {
  return run((v) => gradValues(v.x.builder, sum(mul(build(v), v.__u)), [v.x]), { x, __u: tensor(upstream, [1, 1, upstream.length], "float64") })
}
