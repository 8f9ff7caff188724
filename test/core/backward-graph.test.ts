import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, conv2d, crossEntropy, flatten, formatGraph, grad, linear, maxPool2d, relu, toDot } from "../../src/index.ts"

// Issue acceptance: the printed backward graph of conv -> relu -> maxpool -> flatten ->
// linear -> cross_entropy shows the max-pool gradient node fed by the forward node's
// saved argmax output, and the forward-only plan never computes that argmax.
describe("backward graph of a small CNN", () => {
  const build = () => {
    const g = new GraphBuilder()
    const x = g.input("x", [2, 1, 8, 8])
    const labels = g.input("labels", [2], "int32")
    const h = maxPool2d(relu(conv2d(x, g.param("conv.weight", [3, 1, 3, 3]), g.param("conv.bias", [3]), { padding: 1 })), { kernel_size: 2 })
    const logits = linear(flatten(h, 1), g.param("fc.weight", [10, 48]), g.param("fc.bias", [10]))
    const loss = crossEntropy(logits, labels)
    return { g, loss, logits, pool: h.ref.node }
  }

  it("routes the max-pool gradient through the forward node's indices edge", () => {
    const { g, loss, pool } = build()
    const { graph } = grad(g.graph, loss.ref, [{ node: "conv.weight", output: "y" }])
    const backward = graph.order.map((id) => graph.nodes[id]).filter((n) => n.op === "max_pool2d_backward")
    expect(backward).toHaveLength(1)
    expect(backward[0].inputs.indices).toEqual({ node: pool, output: "indices" })
    expect(backward[0].role).toBe("gradient")
    // and the printers show it
    expect(formatGraph(graph)).toMatch(new RegExp(`= max_pool2d_backward\\(.*indices=${pool}:indices.*\\[grad\\]`))
    expect(toDot(graph)).toContain(`"${pool}" -> "${backward[0].id}" [label="indices -> indices [2, 3, 4, 4]"]`)
    // the forward window search is not repeated: no second max_pool2d node appears
    expect(graph.order.filter((id) => graph.nodes[id].op === "max_pool2d")).toEqual([pool])
  })

  it("a forward-only plan does not produce the argmax; a training plan does", () => {
    const { g, logits, loss, pool } = build()
    const plan = compile(g.graph, [logits])
    // Optional outputs are computed only when consumed; indices has no consumer here.
    expect(plan.outputsOf(pool)).toEqual(["y"])
    const training = grad(g.graph, loss.ref, [{ node: "conv.weight", output: "y" }])
    expect(compile(training.graph, training.grads).outputsOf(pool)).toEqual(["y", "indices"])
  })
})
