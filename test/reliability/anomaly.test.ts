// Anomaly detection: the first non-finite value stops the run, naming the node, its op, the
// forward node a gradient node differentiates, and the inputs' ranges.
import { describe, expect, it } from "vitest"
import "../../src/ops/builtins.ts"
import { AnomalyError } from "../../src/errors.ts"
import { GraphBuilder } from "../../src/graph/builder.ts"
import { gradValues } from "../../src/autodiff/grad.ts"
import { gradientOrigin } from "../../src/autodiff/origins.ts"
import { compile } from "../../src/exec/plan.ts"
import { log, mul, pow, relu, exp } from "../../src/ops/pointwise/index.ts"
import { sum } from "../../src/ops/reduce/index.ts"
import { tensor } from "../../src/tensor/tensor.ts"
import { describeRange } from "../../src/exec/anomaly.ts"
import { errorOf } from "../helpers.ts"

const anomalyOf = (f: () => unknown): AnomalyError => errorOf(AnomalyError, f)

describe("anomaly detection", () => {
  it("names the first forward node whose output is NaN, with its inputs' ranges", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [3])
    const l = log(x) // log(-1) = NaN (PyTorch's propagation)
    const y = sum(exp(l))
    const plan = compile(g.graph, [y])
    const feeds = { x: tensor([1, -1, 2], [3], "float64") }
    expect(Number.isNaN(plan.run(feeds)[0].data[0])).toBe(true) // off by default: NaN propagates
    const e = anomalyOf(() => plan.run(feeds, new Map(), { detectAnomaly: true }))
    expect(e.message).toBe(
      `node '${l.ref.node}' op log: anomaly detected in forward node '${l.ref.node}': output 'y' [3] float64 holds NaN at flat index 1 (expected finite values; inputs: x [3] in [-1, 2])`,
    )
    expect(e.context).toMatchObject({ node: l.ref.node, op: "log" })
  })

  it("names a gradient node and the forward node it differentiates", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2])
    const p = pow(x, 0.5) // d/dx x^0.5 = 0.5 x^-0.5: +Infinity at x = 0 while the forward is finite
    const loss = sum(mul(p, p))
    const [gx] = gradValues(g, loss, [x])
    const plan = compile(g.graph, [loss, gx])
    const e = anomalyOf(() => plan.run({ x: tensor([0, 4], [2], "float64") }, new Map(), { detectAnomaly: true }))
    expect(e.message).toMatch(new RegExp(`anomaly detected in gradient node '[a-z_0-9]+' differentiating forward node '${p.ref.node}' \\(op pow\\): output 'y' \\[2\\] float64 holds (Infinity|NaN) at flat index 0`))
    const node = g.graph.nodes[e.context.node!]
    expect(node.role).toBe("gradient")
    expect(gradientOrigin(node)).toBe(p.ref.node)
  })

  it("flags a non-finite feed as the feed", () => {
    const g = new GraphBuilder()
    const y = relu(g.input("x", [2]))
    const e = anomalyOf(() => compile(g.graph, [y]).run({ x: tensor([Infinity, 1], [2]) }, new Map(), { detectAnomaly: true }))
    expect(e.message).toContain("anomaly detected in feed 'x': output 'y' [2] float32 holds Infinity at flat index 0")
  })

  it("finite runs give the same bits with detection on and off", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [3])
    const loss = sum(mul(exp(x), x))
    const [gx] = gradValues(g, loss, [x])
    const plan = compile(g.graph, [loss, gx])
    const feeds = { x: tensor([0.5, -1, 2], [3], "float64") }
    const off = plan.run(feeds).map((t) => [...t.data])
    const on = plan.run(feeds, new Map(), { detectAnomaly: true }).map((t) => [...t.data])
    expect(on).toEqual(off)
  })

  it("describes ranges with NaN and infinity counts", () => {
    expect(describeRange([1, NaN, -2, Infinity])).toBe("in [-2, 1], 1 NaN, 1 infinite")
    expect(describeRange([NaN])).toBe("no finite values, 1 NaN")
    expect(describeRange([])).toBe("empty")
  })
})
