import { describe, expect, it } from "vitest"
import { AttrError, FeedError, GraphBuilder, GraphError, ShapeError, compile, conv2d, crossEntropy, linear, relu, tensor, type Graph } from "../../src/index.ts"

// The mistakes a new user makes first, each with the message they should see: the node,
// the op, the shapes involved and what was expected.
describe("bad input as a new user tries it", () => {
  const net = () => {
    const g = new GraphBuilder()
    const x = g.input("x", [2, 3, 8, 8])
    return { g, x }
  }

  it("conv weight whose input channels do not match x", () => {
    const { g, x } = net()
    const w = g.param("conv1.weight", [6, 1, 3, 3])
    expect(() => conv2d(x, w)).toThrow(ShapeError)
    expect(() => conv2d(x, w)).toThrow(/node 'conv2d_\d+' op conv2d: .*3.*1.*\(inputs x: \[2, 3, 8, 8\] float32, weight: \[6, 1, 3, 3\] float32\)/)
  })

  it("kernel larger than the padded input", () => {
    const { g, x } = net()
    const w = g.param("w", [4, 3, 11, 11])
    expect(() => conv2d(x, w, undefined, { padding: 1 })).toThrow(ShapeError)
    expect(() => conv2d(x, w, undefined, { padding: 1 })).toThrow(/op conv2d.*expected/)
  })

  it("stride 0", () => {
    const { g, x } = net()
    const w = g.param("w", [4, 3, 3, 3])
    expect(() => conv2d(x, w, undefined, { stride: 0 })).toThrow(AttrError)
    expect(() => conv2d(x, w, undefined, { stride: 0 })).toThrow(/op conv2d.*stride/)
  })

  it("linear whose in_features do not match the flattened input", () => {
    const g = new GraphBuilder()
    const x = g.input("x", [4, 400])
    expect(() => linear(x, g.param("fc.weight", [120, 256]))).toThrow(/op linear.*400.*256|op linear.*256.*400/)
  })

  it("float labels where cross entropy needs class indices of the batch size", () => {
    const g = new GraphBuilder()
    const logits = g.input("logits", [4, 10])
    expect(() => crossEntropy(logits, g.input("labels", [5], "int32"))).toThrow(/op cross_entropy/)
  })

  it("a feed of the wrong dtype or shape, and a missing feed", () => {
    const g = new GraphBuilder()
    const y = relu(g.input("x", [2, 3]))
    const plan = compile(g.graph, [y])
    expect(() => plan.run({ x: tensor([1, 2, 3, 4, 5, 6], [2, 3], "float64") })).toThrow(FeedError)
    expect(() => plan.run({ x: tensor([1, 2, 3, 4, 5, 6], [2, 3], "float64") })).toThrow(/feed 'x' has dtype float64 \(expected \[2, 3\] float32\)/)
    expect(() => plan.run({ x: tensor([1, 2, 3], [3]) })).toThrow(/feed 'x' has shape \[3\] \(expected \[2, 3\] float32\)/)
    expect(() => plan.run({})).toThrow(/missing feed for input 'x'/)
  })

  it("a cycle in a hand-edited graph", () => {
    const g = new GraphBuilder()
    const a = relu(g.input("x", [2]))
    const b = relu(a)
    const cyclic: Graph = { ...g.graph, nodes: { ...g.graph.nodes, [a.ref.node]: { ...g.graph.nodes[a.ref.node], inputs: { x: b.ref } } } }
    expect(() => compile(cyclic, [b])).toThrow(GraphError)
    expect(() => compile(cyclic, [b])).toThrow(/cycle/)
  })
})
