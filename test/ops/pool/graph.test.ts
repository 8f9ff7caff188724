import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, conv2d, grad, gradValues, linear, maxPool2d, maxPool2dWithIndices, mul, relu, flatten, sum, tensor } from "../../../src/index.ts"
import { randomTensor } from "./helpers.ts"

describe("max pooling in a graph", () => {
  it("conv -> relu -> max_pool2d -> ... : grad reads the forward node's indices output as an explicit edge", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 1, 6, 6])
    const w = b.param("w", [3, 1, 3, 3])
    const fc = b.param("fc", [4, 27])
    const pooled = maxPool2d(relu(conv2d(x, w, undefined, { padding: 1 })), { kernel_size: 2 })
    const loss = sum(linear(flatten(pooled, 1), fc))
    const forwardId = pooled.ref.node
    expect(b.graph.nodes[forwardId].op).toBe("max_pool2d")

    const { graph, grads } = grad(b.graph, loss.ref, [w.ref])
    const backward = Object.values(graph.nodes).filter((n) => n.op === "max_pool2d_backward")
    expect(backward).toHaveLength(1)
    const node = backward[0]
    expect(node.role).toBe("gradient")
    expect(node.inputs.indices).toEqual({ node: forwardId, output: "indices" })
    expect(graph.nodes[node.inputs.gy.node].role).toBe("gradient")
    expect(node.attrs).toMatchObject({ kernel_size: [2, 2], stride: [2, 2], input_size: [6, 6] })
    // The forward node is not duplicated: the search for the maxima runs once.
    expect(Object.values(graph.nodes).filter((n) => n.op === "max_pool2d")).toHaveLength(1)

    const params = new Map([
      ["w", randomTensor([3, 1, 3, 3], 1)],
      ["fc", randomTensor([4, 27], 2)],
    ])
    const [gw] = compile(graph, grads).run({ x: randomTensor([2, 1, 6, 6], 3) }, params)
    expect(gw.shape).toEqual([3, 1, 3, 3])
    expect(Array.from(gw.data).some((v) => v !== 0)).toBe(true)
  })

  it("indices are computed only when consumed (inference graphs skip the argmax)", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [1, 1, 4, 4])
    const { y, indices } = maxPool2dWithIndices(x, { kernel_size: 2 })
    const feeds = { x: tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], "float64") }
    const valuesOnly = compile(b.graph, [y])
    valuesOnly.run(feeds)
    expect(valuesOnly.lastRunAllocatedBytes).toBe(4 * 8) // y only
    const both = compile(b.graph, [y, indices])
    const [yv, iv] = both.run(feeds)
    expect(both.lastRunAllocatedBytes).toBe(4 * 8 + 4 * 4) // y and int32 indices
    expect(Array.from(yv.data)).toEqual([5, 7, 13, 15])
    expect(Array.from(iv.data)).toEqual([5, 7, 13, 15])
  })

  it("the backward is an ordinary graph: max_pool2d_backward can be differentiated again", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [1, 1, 4, 4])
    const u = b.input("u", [1, 1, 2, 2])
    const v = b.input("v", [1, 1, 4, 4])
    const y = maxPool2d(x, { kernel_size: 2 })
    const [gx] = gradValues(b, sum(mul(y, u)), [x])
    // d/du of <gx(u), v> = gather of v at the argmax: v at positions 5, 7, 13, 15.
    const [gu] = gradValues(b, sum(mul(gx, v)), [u])
    expect(Object.values(b.graph.nodes).some((n) => n.op === "gather_planes")).toBe(true)
    const feeds = {
      x: tensor(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4], "float64"),
      u: tensor([1, 2, 3, 4], [1, 1, 2, 2], "float64"),
      v: tensor(Array.from({ length: 16 }, (_, i) => 100 + i), [1, 1, 4, 4], "float64"),
    }
    const [gxv, guv] = compile(b.graph, [gx, gu]).run(feeds)
    expect(Array.from(gxv.data)).toEqual([0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4])
    expect(Array.from(guv.data)).toEqual([105, 107, 113, 115])
  })
})
