import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { avgPool1d, avgPool2d, avgPool3d, gradValues, lpPool1d, lpPool2d, mul, sum, sumPool1d, sumPool2d } from "../../../src/index.ts"
import { avgPoolBackwardWindows, avgPoolWindows } from "../../../src/kernels/pool/windows.ts"
import { avgPoolAttrs, undilated } from "../../../src/ops/pool/avg.ts"
import { poolWindows } from "../../../src/ops/pool/geometry.ts"
import { grads, list, randomTensor, run, t64 } from "./helpers.ts"

describe("avg_pool by hand", () => {
  const x = t64([1, 2, 3, 4, 5, 6], [1, 1, 6])
  it("count_include_pad (default) divides by the padded window; false by the in-bounds count", () => {
    expect(list(run((v) => avgPool1d(v.x, { kernel_size: 3, stride: 2, padding: 1 }), { x })[0])).toEqual([1, 3, 5])
    expect(list(run((v) => avgPool1d(v.x, { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false }), { x })[0])).toEqual([1.5, 3, 5])
  })

  it("a ceil_mode window past the right padding: its divisor excludes the part beyond the padding", () => {
    // windows start at -1, 1, 3, 5; the last reads 6 (x[5]), position 6 (padding) and 7 (beyond): divisor 2
    const a = { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }
    expect(list(run((v) => avgPool1d(v.x, a), { x })[0])).toEqual([1, 3, 5, 3])
    expect(list(run((v) => avgPool1d(v.x, { ...a, count_include_pad: false }), { x })[0])).toEqual([1.5, 3, 5, 6])
    // gradient: upstream / divisor to every in-bounds element of each window
    const g = grads((v) => avgPool1d(v.x, a), { x }, t64([3, 6, 9, 12], [1, 1, 4]), ["x"])[0]
    expect(list(g)).toEqual([1, 1 + 2, 2, 2 + 3, 3, 3 + 6])
  })

  it("divisor_override; sum pooling is divisor_override = 1", () => {
    const x2 = t64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3])
    expect(list(run((v) => sumPool2d(v.x, { kernel_size: 2, stride: 1 }), { x: x2 })[0])).toEqual([12, 16, 24, 28])
    expect(list(run((v) => avgPool2d(v.x, { kernel_size: 2, stride: 1, divisor_override: 3 }), { x: x2 })[0])).toEqual([4, 16 / 3, 8, 28 / 3])
    expect(list(run((v) => sumPool1d(v.x, { kernel_size: 2 }), { x })[0])).toEqual([3, 7, 11])
    expect(list(grads((v) => sumPool2d(v.x, { kernel_size: 2, stride: 1 }), { x: x2 }, t64([1, 1, 1, 1], [1, 1, 2, 2]), ["x"])[0])).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1])
  })

  it("NaN inputs propagate forward but the gradient stays finite (it does not depend on x)", () => {
    const xn = t64([1, NaN, 3, 4], [1, 1, 4])
    const [y] = run((v) => avgPool1d(v.x, { kernel_size: 2 }), { x: xn })
    expect(y.data[0]).toBeNaN()
    expect(y.data[1]).toBe(3.5)
    expect(list(grads((v) => avgPool1d(v.x, { kernel_size: 2 }), { x: xn }, t64([2, 4], [1, 1, 2]), ["x"])[0])).toEqual([1, 1, 2, 2])
  })

  it("3-d, unbatched, float32", () => {
    const x3 = t64(Array.from({ length: 8 }, (_, i) => i), [1, 2, 2, 2])
    expect(list(run((v) => avgPool3d(v.x, { kernel_size: 2 }), { x: x3 })[0])).toEqual([3.5])
    const [y32] = run((v) => avgPool2d(v.x, { kernel_size: 2 }), { x: t64([0.1, 0.2, 0.3, 0.4], [1, 1, 2, 2]) }, "float32")
    expect(y32.dtype).toBe("float32")
    expect(y32.data[0]).toBeCloseTo(0.25, 6)
  })

  it("rejects bad attrs with what was expected", () => {
    const x2 = t64(new Array(16).fill(0), [1, 1, 4, 4])
    expect(() => run((v) => avgPool2d(v.x, { kernel_size: 2, divisor_override: 0 }), { x: x2 })).toThrow(/divisor_override = 0 \(expected null or a non-zero integer\)/)
    expect(() => run((v) => avgPool2d(v.x, { kernel_size: 3, padding: 2 }), { x: x2 })).toThrow(/expected padding <= floor\(kernel_size \/ 2\) = 1/)
  })
})

describe("lp_pool by hand", () => {
  it("p = 2 is the root of the sum of squares; p = 1 a SIGNED sum", () => {
    expect(list(run((v) => lpPool1d(v.x, { norm_type: 2, kernel_size: 2 }), { x: t64([3, 4, 0, 0], [1, 1, 4]) })[0])).toEqual([5, 0])
    expect(list(run((v) => lpPool1d(v.x, { norm_type: 1, kernel_size: 2 }), { x: t64([1, -3, 2, 2], [1, 1, 4]) })[0])).toEqual([-2, 4])
  })

  it("a ceil_mode partial window scales by K / n", () => {
    // last window holds only x[4] = 2: (2^2 * 2 / 1)^(1/2)
    const [y] = run((v) => lpPool1d(v.x, { norm_type: 2, kernel_size: 2, ceil_mode: true }), { x: t64([3, 4, 0, 0, 2], [1, 1, 5]) })
    expect(list(y)).toEqual([5, 0, Math.sqrt(8)])
  })

  it("gradient (K/n) x^(p-1) y^(1-p), and exactly 0 on a zero window", () => {
    const x = t64([3, 4, 0, 0, 1, 2, 0, 0], [1, 1, 2, 4])
    const g = list(grads((v) => lpPool2d(v.x, { norm_type: 2, kernel_size: 2 }), { x }, t64([1, 1], [1, 1, 1, 2]), ["x"])[0])
    const y0 = Math.sqrt(9 + 16 + 1 + 4)
    const want = [3 / y0, 4 / y0, 0, 0, 1 / y0, 2 / y0, 0, 0]
    g.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12))
  })
})

describe("the avg_pool2d 2x2 fast path agrees with the generic kernel", () => {
  it("forward and backward, odd sizes, ceil_mode, divisor_override", () => {
    fc.assert(
      fc.property(
        fc.record({ H: fc.integer({ min: 2, max: 7 }), W: fc.integer({ min: 2, max: 7 }), ceil: fc.boolean(), override: fc.constantFrom(null, 1, 3) }),
        fc.integer({ min: 0, max: 1000 }),
        ({ H, W, ceil, override }, seed) => {
          const raw = { kernel_size: 2, ceil_mode: ceil, divisor_override: override }
          const x = randomTensor([2, 3, H, W], seed)
          const u = randomTensor([2, 3, ceil ? Math.ceil(H / 2) : Math.floor(H / 2), ceil ? Math.ceil(W / 2) : Math.floor(W / 2)], seed + 1)
          const [y, g] = run((v) => [avgPool2d(v.x, raw), ...gradValues(v.x.builder, sum(mul(avgPool2d(v.x, raw), v.u)), [v.x])], { x, u })
          const a = avgPoolAttrs(raw, 2)
          const w = poolWindows(x.shape, undilated(a), a.count_include_pad)
          const yRef = new Float64Array(y.data.length)
          avgPoolWindows(Float64Array.from(x.data), yRef, w, override)
          Array.from(y.data).forEach((v, i) => expect(v).toBeCloseTo(yRef[i], 12))
          const gRef = new Float64Array(x.data.length)
          avgPoolBackwardWindows(Float64Array.from(u.data), gRef, w, override)
          Array.from(g.data).forEach((v, i) => expect(v).toBeCloseTo(gRef[i], 12))
        },
      ),
      { numRuns: 100 },
    )
  })
})
