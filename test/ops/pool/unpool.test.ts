import { describe, expect, it } from "vitest"
import { gatherPlanes } from "../../../src/ops/pool/index.ts"
import { maxPool2dBackward, maxPool2dWithIndices, maxUnpool1d, maxUnpool2d } from "../../../src/index.ts"
import { grads, i32, list, run, t64 } from "./helpers.ts"

describe("max_unpool by hand", () => {
  it("scatters x to the indices in a zero output of the default size (L-1)*s - 2p + k", () => {
    const [y] = run((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 2 }), { x: t64([7, 9], [1, 1, 2]), indices: i32([1, 2], [1, 1, 2]) })
    expect(list(y)).toEqual([0, 7, 9, 0])
    const [y9] = run((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 2, output_size: [1, 1, 5] }), { x: t64([7, 9], [1, 1, 2]), indices: i32([1, 4], [1, 1, 2]) })
    expect(list(y9)).toEqual([0, 7, 0, 0, 9])
  })

  it("undoes max_pool2d at the maxima", () => {
    const x = t64([1, 9, 2, 3, 4, 5, 8, 6, 0, 7, 1, 2, 3, 4, 5, 11], [1, 1, 4, 4])
    const [up] = run((v) => {
      const { y, indices } = maxPool2dWithIndices(v.x, { kernel_size: 2 })
      return maxUnpool2d(y, indices, { kernel_size: 2 })
    }, { x })
    expect(list(up)).toEqual([0, 9, 0, 0, 0, 0, 8, 0, 0, 7, 0, 0, 0, 0, 0, 11])
  })

  it("the gradient gathers the upstream: every repeat of an index gets the full value", () => {
    const g = grads((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 3, stride: 1 }), { x: t64([5, 5, 5], [1, 1, 3]), indices: i32([2, 2, 4], [1, 1, 3]) }, t64([1, 2, 3, 4, 5], [1, 1, 5]), ["x"])[0]
    expect(list(g)).toEqual([3, 3, 5])
  })

  it("indices outside the output plane are a clear run-time error", () => {
    expect(() => run((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 2 }), { x: t64([7, 9], [1, 1, 2]), indices: i32([1, 4], [1, 1, 2]) })).toThrow(
      /indices\[1\] = 4 \(plane 0\) is outside the output plane of 4 elements \[4\] \(expected 0 <= index < 4/,
    )
    expect(() => run((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 2, output_size: [6] }), { x: t64([7, 9], [1, 1, 2]), indices: i32([0, 1], [1, 1, 2]) })).toThrow(
      /output_size \[6\] has 6 in spatial dim 0 \(L\) \(expected strictly between default - s = 2 and default \+ s = 6/,
    )
    expect(() => run((v) => maxUnpool1d(v.x, v.indices, { kernel_size: 2 }), { x: t64([7, 9], [1, 1, 2]), indices: i32([0], [1, 1, 1]) })).toThrow(/indices \[1, 1, 1\] and x \[1, 1, 2\] differ/)
  })
})

describe("argmax indices given to the backward ops are validated", () => {
  it("an index outside the plane (or below -1) is a clear run-time error", () => {
    expect(() => run((v) => maxPool2dBackward(v.gy, v.indices, { kernel_size: 2, input_size: [2, 2] }), { gy: t64([1], [1, 1, 1, 1]), indices: i32([4], [1, 1, 1, 1]) })).toThrow(
      /indices\[0\] = 4 is outside the input plane of 4 elements \(expected -1 <= index < 4\)/,
    )
    expect(() => run((v) => gatherPlanes(v.x, v.indices, 2), { x: t64([1, 2, 3, 4], [1, 1, 2, 2]), indices: i32([-2], [1, 1, 1, 1]) })).toThrow(/indices\[0\] = -2/)
  })
})
