import { describe, expect, it } from "vitest"
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveMaxPool1d, adaptiveMaxPool1dWithIndices, adaptiveMaxPool2dWithIndices, globalAvgPool, globalMaxPool } from "../../../src/index.ts"
import { grads, list, run, t64 } from "./helpers.ts"

describe("adaptive pooling by hand", () => {
  it("uneven bins overlap: 10 -> 4 uses [0,3) [2,5) [5,8) [7,10)", () => {
    const x = t64(Array.from({ length: 10 }, (_, i) => i), [1, 1, 10])
    expect(list(run((v) => adaptiveAvgPool1d(v.x, 4), { x })[0])).toEqual([1, 3, 6, 8])
    const [y, idx] = run((v) => {
      const r = adaptiveMaxPool1dWithIndices(v.x, 4)
      return [r.y, r.indices]
    }, { x })
    expect(list(y)).toEqual([2, 4, 7, 9])
    expect(list(idx)).toEqual([2, 4, 7, 9])
  })

  it("output larger than input repeats elements; the gradient sums over the repeats", () => {
    const x = t64([1, 5, 3], [1, 1, 3])
    // 3 -> 5: bins [0,1) [0,2) [1,2) [1,3) [2,3)
    expect(list(run((v) => adaptiveAvgPool1d(v.x, 5), { x })[0])).toEqual([1, 3, 5, 4, 3])
    expect(list(run((v) => adaptiveMaxPool1d(v.x, 5), { x })[0])).toEqual([1, 5, 5, 5, 3])
    const g = grads((v) => adaptiveMaxPool1d(v.x, 5), { x }, t64([1, 2, 4, 8, 16], [1, 1, 5]), ["x"])[0]
    expect(list(g)).toEqual([1, 14, 16])
  })

  it("ties pick the lowest flat index; tie policies apply to adaptive max too", () => {
    const x = t64([2, 2, 1, 2], [1, 1, 2, 2])
    const [y, idx] = run((v) => {
      const r = adaptiveMaxPool2dWithIndices(v.x, 1)
      return [r.y, r.indices]
    }, { x })
    expect(list(y)).toEqual([2])
    expect(list(idx)).toEqual([0])
    expect(list(grads((v) => adaptiveMaxPool1d(v.x, 1, { tie: "split" }), { x: t64([2, 2, 1, 2], [1, 1, 4]) }, t64([3], [1, 1, 1]), ["x"])[0])).toEqual([1, 1, 0, 1])
    expect(list(grads((v) => adaptiveMaxPool1d(v.x, 1, { tie: "last" }), { x: t64([2, 2, 1, 2], [1, 1, 4]) }, t64([3], [1, 1, 1]), ["x"])[0])).toEqual([0, 0, 0, 3])
  })

  it("global pooling helpers keep (N, C, 1, ...)", () => {
    const x = t64([1, 2, 3, 4, -1, -2, -3, -4], [1, 2, 2, 2])
    const [a, m] = run((v) => [globalAvgPool(v.x), globalMaxPool(v.x)], { x })
    expect(a.shape).toEqual([1, 2, 1, 1])
    expect(list(a)).toEqual([2.5, -2.5])
    expect(list(m)).toEqual([4, -1])
  })

  it("null keeps an input size; bad output_size is rejected", () => {
    const x = t64(Array.from({ length: 12 }, (_, i) => i), [1, 1, 3, 4])
    const [y] = run((v) => adaptiveAvgPool2d(v.x, [1, null]), { x })
    expect(y.shape).toEqual([1, 1, 1, 4])
    expect(list(y)).toEqual([4, 5, 6, 7])
    expect(() => run((v) => adaptiveAvgPool2d(v.x, [0, 2]), { x })).toThrow(/output_size = \[0,2\] \(expected an integer >= 1 or an array of 2 integers/)
  })
})
