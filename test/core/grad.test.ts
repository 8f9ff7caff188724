import { describe, expect, it } from "vitest"
import { GraphBuilder, GraphError, ShapeError, add, compile, defineOp, exp, formatGraph, grad, gradValues, mul, neg, pow, sum, tensor, toDot } from "../../src/index.ts"

const f64 = (values: number[], shape = [values.length]) => tensor(values, shape, "float64")

describe("grad transform", () => {
  it("returns a new graph and leaves the input graph unchanged", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const l = sum(mul(x, x))
    const before = g.graph
    const { graph, grads } = grad(before, l.ref, [x.ref])
    expect(graph).not.toBe(before)
    expect(before.order.every((id) => graph.nodes[id] === before.nodes[id])).toBe(true)
    expect(graph.order.length).toBeGreaterThan(before.order.length)
    const [dx] = compile(graph, grads).run({ x: f64([3, -1]) })
    expect(Array.from(dx.data)).toEqual([6, -2]) // d(x^2)/dx = 2x
  })

  it("sums gradients over fan-out", () => {
    // L = sum(x*x + exp(x) + x): three uses of x; dL/dx = 2x + e^x + 1
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const l = sum(add(add(mul(x, x), exp(x)), x))
    const [dx] = gradValues(g, l, [x])
    const [out] = compile(g.graph, [dx]).run({ x: f64([0, 1]) })
    expect(out.data[0]).toBeCloseTo(0 + 1 + 1, 14)
    expect(out.data[1]).toBeCloseTo(2 + Math.E + 1, 14)
  })

  it("prunes branches that no requested gradient needs", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const w = g.param("w", [2])
    const l = sum(mul(exp(x), w))
    const { graph } = grad(g.graph, l.ref, [w.ref])
    const gradOps = graph.order.filter((id) => graph.nodes[id].role === "gradient").map((id) => graph.nodes[id].op)
    // dL/dw = exp(x) * seed: no exp-backward (mul by exp output) chain for x is built
    expect(gradOps).not.toContain("exp")
    expect(gradOps.filter((op) => op === "mul")).toHaveLength(1)
  })

  it("gives zeros for a wrt the loss does not depend on", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const unrelated = g.param("u", [3])
    const [du] = gradValues(g, sum(x), [unrelated])
    expect(Array.from(compile(g.graph, [du]).run({ x: f64([1, 2]) }, new Map([["u", f64([1, 2, 3])]]))[0].data)).toEqual([0, 0, 0])
  })

  it("differentiates twice: d2/dx2 of x^3 is 6x", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [3])
    const [dx] = gradValues(g, sum(pow(x, 3)), [x])
    const [ddx] = gradValues(g, sum(dx), [x])
    const [first, second] = compile(g.graph, [dx, ddx]).run({ x: f64([1, -2, 0.5]) })
    expect(Array.from(first.data)).toEqual([3, 12, 0.75])
    expect(Array.from(second.data)).toEqual([6, -12, 3])
  })

  it("requires a scalar loss unless a seed is given", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    expect(() => gradValues(g, neg(x), [x])).toThrow(ShapeError)
    expect(() => gradValues(g, neg(x), [x])).toThrow(/the loss has shape \[2\] \(expected a scalar \[\]/)
    const seed = g.input("seed", [2])
    const [dx] = gradValues(g, neg(x), [x], { seed })
    expect(Array.from(compile(g.graph, [dx]).run({ x: f64([1, 2]), seed: f64([5, 7]) })[0].data)).toEqual([-5, -7])
  })

  it("names the op when it has no gradient rule, or its rule returns a wrong shape", () => {
    const noGrad = defineOp({ name: "nograd_test", inputs: ["x"], outputs: ["y"], infer: ({ x }) => ({ y: x }), kernel: () => {} })
    const wrongShape = defineOp({
      name: "wrongshape_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: () => {},
      grad: ({ grads: { y } }) => ({ x: sum(y!) }),
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const a = g.apply(noGrad, { x }).y
    expect(() => gradValues(g, sum(a), [x])).toThrow(GraphError)
    expect(() => gradValues(g, sum(a), [x])).toThrow(/op nograd_test has no gradient rule \(needed for input x\)/)
    const b = g.apply(wrongShape, { x }).y
    expect(() => gradValues(g, sum(b), [x])).toThrow(/op wrongshape_test: gradient rule returned \[\] float64 for input 'x' \(expected its shape \[2\] float64\)/)
  })

  it("prints the backward graph as text and DOT with gradient nodes marked", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const l = sum(exp(x))
    const { graph } = grad(g.graph, l.ref, [x.ref])
    const text = formatGraph(graph)
    expect(text).toMatch(/^x = input\(\) -> y: \[2\] float64$/m)
    expect(text).toMatch(/= exp_backward\(gy=.*, x=exp_\d+:y\) \[grad\]/)
    const dot = toDot(graph)
    expect(dot).toMatch(/^digraph dagrad \{/)
    expect(dot).toMatch(/"exp_\d+" -> "exp_backward_\d+" \[label="y -> x \[2\]"\]/)
    expect(dot).toMatch(/fillcolor="#f3e0c0"/)
  })
})
