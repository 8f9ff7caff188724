import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maxPool1d, maxPool1dWithIndices, maxPool2d, maxPool2dWithIndices, maxPool3dWithIndices, type MaxPoolOptions, type TiePolicy } from "../../../src/index.ts"
import { maxPoolWindows } from "../../../src/kernels/pool/windows.ts"
import { maxPool2dAxes, maxPool2x2 } from "../../../src/kernels/pool/pool2d.ts"
import { poolParams, poolWindows } from "../../../src/ops/pool/geometry.ts"
import { sizeOf } from "../../../src/tensor/shape.ts"
import { grads, list, run, t64 } from "./helpers.ts"

const withIdx1 = (a: MaxPoolOptions) => (v: { readonly [k: string]: import("../../../src/index.ts").Value }) => {
  const { y, indices } = maxPool1dWithIndices(v.x, a)
  return [y, indices]
}

describe("max_pool ties", () => {
  // Two windows [1, 3, 3] and [2, 5, 5], upstream [10, 20].
  const x = t64([1, 3, 3, 2, 5, 5], [1, 1, 6])
  const u = t64([10, 20], [1, 1, 2])
  const cases: [TiePolicy, number[], number[]][] = [
    ["first", [1, 4], [0, 10, 0, 0, 20, 0]],
    ["last", [2, 5], [0, 0, 10, 0, 0, 20]],
    ["split", [1, 4], [0, 5, 5, 0, 10, 10]],
    ["all", [1, 4], [0, 10, 10, 0, 20, 20]],
  ]
  for (const [tie, indices, gx] of cases) {
    it(`tie "${tie}" in 1-d: indices ${indices}, gradient ${gx}`, () => {
      const [y, idx] = run(withIdx1({ kernel_size: 3, tie }), { x })
      expect(list(y)).toEqual([3, 5])
      expect(list(idx)).toEqual(indices)
      expect(list(grads((v) => maxPool1d(v.x, { kernel_size: 3, tie }), { x }, u, ["x"])[0])).toEqual(gx)
    })
  }

  // Overlapping 2x2 windows (stride 1) over [[1,2,2],[2,2,0],[0,1,2]], upstream [1,2,3,4]:
  // tie sets {1,3,4}, {1,2,4}, {3,4}, {4,8}.
  const x2 = t64([1, 2, 2, 2, 2, 0, 0, 1, 2], [1, 1, 3, 3])
  const u2 = t64([1, 2, 3, 4], [1, 1, 2, 2])
  const cases2: [TiePolicy, number[], number[]][] = [
    ["first", [1, 1, 3, 4], [0, 3, 0, 3, 4, 0, 0, 0, 0]],
    ["last", [4, 4, 4, 8], [0, 0, 0, 0, 6, 0, 0, 0, 4]],
    ["split", [1, 1, 3, 4], [0, 1 / 3 + 2 / 3, 2 / 3, 1 / 3 + 3 / 2, 1 / 3 + 2 / 3 + 3 / 2 + 2, 0, 0, 0, 2]],
    ["all", [1, 1, 3, 4], [0, 3, 2, 4, 10, 0, 0, 0, 4]],
  ]
  for (const [tie, indices, gx] of cases2) {
    it(`tie "${tie}" in 2-d overlapping windows sums over windows`, () => {
      const [y, idx] = run((v) => {
        const r = maxPool2dWithIndices(v.x, { kernel_size: 2, stride: 1, tie })
        return [r.y, r.indices]
      }, { x: x2 })
      expect(list(y)).toEqual([2, 2, 2, 2])
      expect(list(idx)).toEqual(indices)
      const g = list(grads((v) => maxPool2d(v.x, { kernel_size: 2, stride: 1, tie }), { x: x2 }, u2, ["x"])[0])
      g.forEach((v, i) => expect(v).toBeCloseTo(gx[i], 12))
    })
  }

  it("repeated +inf values follow the lowest-index rule", () => {
    const [y, idx] = run(withIdx1({ kernel_size: 4 }), { x: t64([1, Infinity, Infinity, 2], [1, 1, 4]) })
    expect(list(y)).toEqual([Infinity])
    expect(list(idx)).toEqual([1])
  })
})

describe("max_pool NaN and infinities", () => {
  it("NaN propagates and picks the LAST NaN of the window; the gradient goes there", () => {
    const x = t64([1, NaN, 3, NaN, 2], [1, 1, 5])
    const [y, idx] = run(withIdx1({ kernel_size: 5 }), { x })
    expect(y.data[0]).toBeNaN()
    expect(list(idx)).toEqual([3])
    expect(list(grads((v) => maxPool1d(v.x, { kernel_size: 5 }), { x }, t64([7], [1, 1, 1]), ["x"])[0])).toEqual([0, 0, 0, 7, 0])
  })

  it('nan: "ignore" skips NaN; an all-NaN window gives NaN with index -1 and no gradient', () => {
    const x = t64([1, NaN, 3, NaN, NaN, NaN], [1, 1, 6])
    const [y, idx] = run(withIdx1({ kernel_size: 3, nan: "ignore" }), { x })
    expect(y.data[0]).toBe(3)
    expect(y.data[1]).toBeNaN()
    expect(list(idx)).toEqual([2, -1])
    expect(list(grads((v) => maxPool1d(v.x, { kernel_size: 3, nan: "ignore" }), { x }, t64([5, 6], [1, 1, 2]), ["x"])[0])).toEqual([0, 0, 5, 0, 0, 0])
    for (const tie of ["split", "all"] as const) {
      const g = grads((v) => maxPool1d(v.x, { kernel_size: 3, nan: "ignore", tie }), { x }, t64([5, 6], [1, 1, 2]), ["x"])[0]
      expect(list(g)).toEqual([0, 0, 5, 0, 0, 0])
    }
  })

  it("a window of only -inf picks its first in-bounds element (padding is skipped)", () => {
    const x = t64([-Infinity, -Infinity, -Infinity], [1, 1, 3])
    const [y, idx] = run(withIdx1({ kernel_size: 3, stride: 1, padding: 1 }), { x })
    expect(list(y)).toEqual([-Infinity, -Infinity, -Infinity])
    expect(list(idx)).toEqual([0, 0, 1])
    expect(list(grads((v) => maxPool1d(v.x, { kernel_size: 3, stride: 1, padding: 1 }), { x }, t64([1, 2, 4], [1, 1, 3]), ["x"])[0])).toEqual([3, 4, 0])
  })

  it("padding never wins: all-negative input keeps negative maxima", () => {
    const [y] = run((v) => maxPool2d(v.x, { kernel_size: 3, stride: 2, padding: 1 }), { x: t64([-5, -4, -3, -2], [1, 1, 2, 2]) })
    expect(list(y)).toEqual([-2])
  })
})

describe("max_pool geometry by hand", () => {
  it("ceil_mode drops a last window that would start in the right padding", () => {
    // L=6, k=2, s=4, p=1: ceil(5/4)+1 = 3, but window 2 starts at 8-1 = 7 >= 6: dropped
    const x = t64([1, 2, 3, 4, 5, 6], [1, 1, 6])
    const [y, idx] = run(withIdx1({ kernel_size: 2, stride: 4, padding: 1, ceil_mode: true }), { x })
    expect(list(y)).toEqual([1, 5])
    expect(list(idx)).toEqual([0, 4])
  })

  it("ceil_mode keeps a partial last window", () => {
    const [y, idx] = run(withIdx1({ kernel_size: 2, ceil_mode: true }), { x: t64([1, 2, 3, 4, 9], [1, 1, 5]) })
    expect(list(y)).toEqual([2, 4, 9])
    expect(list(idx)).toEqual([1, 3, 4])
  })

  it("dilation spaces the window; a window lying only in padding gives -inf and no gradient", () => {
    // k=2, d=2, p=1 on L=1: the one window reads positions -1 and 1, both outside.
    const x = t64([3], [1, 1, 1])
    const [y, idx] = run(withIdx1({ kernel_size: 2, dilation: 2, padding: 1 }), { x })
    expect(list(y)).toEqual([-Infinity])
    expect(list(idx)).toEqual([-1])
    expect(list(grads((v) => maxPool1d(v.x, { kernel_size: 2, dilation: 2, padding: 1 }), { x }, t64([1], [1, 1, 1]), ["x"])[0])).toEqual([0])
    // k=2, d=3 on L=7: windows {0,3}, {2,5} with stride 2
    const [y2, i2] = run(withIdx1({ kernel_size: 2, stride: 2, dilation: 3 }), { x: t64([1, 9, 2, 5, 0, 4, 8], [1, 1, 7]) })
    expect(list(y2)).toEqual([5, 4])
    expect(list(i2)).toEqual([3, 5])
  })

  it("3-d indices are (d*H + h)*W + w", () => {
    const x = t64(Array.from({ length: 8 }, (_, i) => (i === 6 ? 10 : i % 3)), [1, 1, 2, 2, 2])
    const [y, idx] = run((v) => {
      const r = maxPool3dWithIndices(v.x, { kernel_size: 2 })
      return [r.y, r.indices]
    }, { x })
    expect(list(y)).toEqual([10])
    expect(list(idx)).toEqual([6])
  })

  it("accepts unbatched (C, L) input", () => {
    const [y] = run((v) => maxPool1d(v.x, { kernel_size: 2 }), { x: t64([1, 2, 4, 3, 0, -1, 7, 7], [2, 4]) })
    expect(y.shape).toEqual([2, 2])
    expect(list(y)).toEqual([2, 4, 0, 7])
  })

  it("float32 gives the same values and indices", () => {
    const x = t64([0.5, -1, 2.25, 2.25, 3, NaN, -0.5, 1], [1, 2, 2, 2])
    const [y, idx] = run((v) => {
      const r = maxPool2dWithIndices(v.x, { kernel_size: 2 })
      return [r.y, r.indices]
    }, { x }, "float32")
    expect(list(y)[0]).toBe(2.25)
    expect(list(y)[1]).toBeNaN()
    expect(list(idx)).toEqual([2, 1])
  })
})

describe("max_pool errors show what was expected", () => {
  const shape = (x: number[], a: MaxPoolOptions) => () => run((v) => maxPool2d(v.x, a), { x: t64(new Array(sizeOf(x)).fill(0), x) })
  it("padding more than half the kernel", () => {
    expect(shape([1, 1, 4, 4], { kernel_size: 2, padding: 2 })).toThrow(/padding 2 in spatial dim 0 \(H\) is more than half the kernel size 2 \(expected padding <= floor\(kernel_size \/ 2\) = 1/)
  })
  it("kernel larger than the padded input, with the derivation", () => {
    expect(shape([1, 1, 3, 3], { kernel_size: [5, 2] })).toThrow(/output size 0 in spatial dim 0 \(H\): floor\(\(3 \+ 2\*0 - 1\*\(5-1\) - 1\) \/ 5\) \+ 1 = floor\(-2\/5\) \+ 1 = 0 \(expected >= 1/)
  })
  it("stride 0, wrong rank, bad policy", () => {
    expect(shape([1, 1, 4, 4], { kernel_size: 2, stride: 0 })).toThrow(/stride = 0 \(expected an integer >= 1/)
    expect(shape([4, 4], { kernel_size: 2 })).toThrow(/rank 2 \(expected rank 4 \(N, C, H, W\) or 3 \(C, H, W\)\)/)
    expect(shape([1, 1, 4, 4], { kernel_size: 2, tie: "middle" as TiePolicy })).toThrow(/tie = "middle" \(expected "first"/)
    expect(shape([1, 1, 4, 4], { kernel_size: [2, 2, 2] })).toThrow(/kernel_size = \[2,2,2\] \(expected an integer >= 1 or an array of 2/)
  })
})

describe("the 2-d fast paths agree with the generic N-d kernel", () => {
  // Values from a small set (many ties), with NaN and infinities sprinkled in.
  const valueArb = fc.oneof({ weight: 12, arbitrary: fc.integer({ min: -2, max: 2 }) }, fc.constantFrom(NaN, Infinity, -Infinity, -0))
  const configArb = fc.record({
    H: fc.integer({ min: 1, max: 7 }),
    W: fc.integer({ min: 1, max: 7 }),
    k: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    s: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    d: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    p: fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 })),
    ceil: fc.boolean(),
    twoByTwo: fc.boolean(),
  })
  it("on tie-heavy data with NaN and infinities, values and indices", () => {
    fc.assert(
      fc.property(configArb, fc.array(valueArb, { minLength: 2 * 49, maxLength: 2 * 49 }), (c, values) => {
        const raw = c.twoByTwo ? { kernel_size: 2, stride: 2 } : { kernel_size: c.k, stride: c.s, dilation: c.d, padding: c.k.map((k, i) => Math.min(c.p[i], Math.floor(k / 2))), ceil_mode: c.ceil }
        const a = poolParams(raw, 2, { padding: true, dilation: true })
        const shape = [2, 1, c.H, c.W]
        let w
        try {
          w = poolWindows(shape, a, false)
          if (w.axes[1].outSize < 1 || w.axes[2].outSize < 1) return
        } catch {
          return
        }
        const x = Float64Array.from(values.slice(0, 2 * c.H * c.W))
        const n = 2 * w.axes[1].outSize * w.axes[2].outSize
        const [y0, i0, y1, i1] = [new Float64Array(n), new Int32Array(n), new Float64Array(n), new Int32Array(n)]
        maxPoolWindows(x, y0, i0, w, false, false)
        if (c.twoByTwo) maxPool2x2(x, y1, i1, 2, c.H, c.W, w.axes[1].outSize, w.axes[2].outSize)
        else maxPool2dAxes(x, y1, i1, 2, w.axes[1], w.axes[2])
        expect(Array.from(i1)).toEqual(Array.from(i0))
        expect(Array.from(y1).map((v) => (Number.isNaN(v) ? "NaN" : v))).toEqual(Array.from(y0).map((v) => (Number.isNaN(v) ? "NaN" : v)))
        const yValues = new Float64Array(n)
        if (c.twoByTwo) maxPool2x2(x, yValues, undefined, 2, c.H, c.W, w.axes[1].outSize, w.axes[2].outSize)
        else maxPool2dAxes(x, yValues, undefined, 2, w.axes[1], w.axes[2])
        expect(Array.from(yValues).map(String)).toEqual(Array.from(y0).map(String))
      }),
      { numRuns: 300 },
    )
  })
})
