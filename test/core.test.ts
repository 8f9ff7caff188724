import { describe, expect, it } from "vitest"
import { GraphBuilder, add, compile, grad, mul, relu, sum, tensor } from "../src/index.ts"

describe("engine core smoke", () => {
  it("differentiates relu(x*w) summed twice by hand-worked values", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2, 3])
    const w = g.param("w", [3])
    const y = relu(mul(x, w))
    const l = sum(add(y, y))
    const { graph, grads } = grad(g.graph, l.ref, [w.ref])
    const [loss, dw] = compile(graph, [l.ref, ...grads]).run(
      { x: tensor([1, -2, 3, 0, 5, -6], [2, 3], "float64") },
      new Map([["w", tensor([1, 2, -1], [3], "float64")]]),
    )
    // mul = [[1,-4,-3],[0,10,6]], relu keeps 1, 10, 6: loss = 2 * 17
    expect(loss.data[0]).toBe(34)
    // dL/dw_j = 2 * sum_i x_ij [x_ij w_j > 0]
    expect(Array.from(dw.data)).toEqual([2, 10, -12])
  })
})
