import { describe, expect, it } from "vitest"
import { FeedError, GraphBuilder, GraphError, add, compile, defineOp, exp, mul, neg, relu, sum, tensor, type Graph } from "../../src/index.ts"

describe("executor", () => {
  const feeds = { x: tensor([1, 2, 3], [3], "float64") }

  it("reports missing, mis-shaped and mis-typed feeds naming the input", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const y = relu(g.input("x", [3]))
    const plan = compile(g.graph, [y])
    expect(() => plan.run({})).toThrow(FeedError)
    expect(() => plan.run({})).toThrow(/missing feed for input 'x' \(expected a tensor \[3\] float64\)/)
    expect(() => plan.run({ x: tensor([1, 2], [2], "float64") })).toThrow(/feed 'x' has shape \[2\] \(expected \[3\] float64\)/)
    expect(() => plan.run({ x: tensor([1, 2, 3], [3], "float32") })).toThrow(/feed 'x' has dtype float32 \(expected \[3\] float64\)/)
  })

  it("reports a missing parameter", () => {
    const g = new GraphBuilder()
    const y = mul(g.input("x", [3]), g.param("w", [3]))
    expect(() => compile(g.graph, [y]).run({ x: tensor([1, 2, 3], [3]) })).toThrow(/parameter 'w' is not in the parameter store \(expected \[3\] float32\)/)
  })

  it("detects a cycle in a graph assembled as data, naming its nodes", () => {
    const g = new GraphBuilder()
    const x = g.input("x", [2])
    const a = neg(x)
    const b = neg(a)
    const graph = g.graph
    // Rewire a to read b: a -> b -> a. Graphs are frozen, so build the edited value by hand.
    const cyclic: Graph = {
      ...graph,
      nodes: { ...graph.nodes, [a.ref.node]: { ...graph.nodes[a.ref.node], inputs: { x: b.ref } } },
    }
    expect(() => compile(cyclic, [b])).toThrow(GraphError)
    expect(() => compile(cyclic, [b])).toThrow(new RegExp(`cycle through .*${a.ref.node}.*${b.ref.node}|cycle through .*${b.ref.node}.*${a.ref.node}`))
  })

  it("rejects a dangling reference", () => {
    const g = new GraphBuilder()
    const y = neg(g.input("x", [2]))
    const broken: Graph = { ...g.graph, nodes: { ...g.graph.nodes, [y.ref.node]: { ...g.graph.nodes[y.ref.node], inputs: { x: { node: "ghost", output: "y" } } } } }
    expect(() => compile(broken, [y])).toThrow(/refers to a node 'ghost' that is not in the graph/)
  })

  it("runs only the nodes the fetches need", () => {
    let runs = 0
    const counted = defineOp({
      name: "counted_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: ({ inputs: { x }, outputs: { y } }) => {
        runs++
        y.data.set(x.data)
      },
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [3])
    const used = neg(x)
    g.apply(counted, { x }) // a branch nobody fetches
    const plan = compile(g.graph, [used])
    expect(plan.order).toEqual(["x", used.ref.node])
    plan.run(feeds)
    expect(runs).toBe(0)
  })

  it("computes an optional output only when something consumes it", () => {
    const seen: boolean[] = []
    const withExtra = defineOp({
      name: "extra_test",
      inputs: ["x"],
      outputs: ["y"],
      optionalOutputs: ["extra"],
      infer: ({ x }) => ({ y: x, extra: { shape: x.shape, dtype: "int32" } }),
      kernel: ({ inputs: { x }, outputs }) => {
        seen.push(outputs.extra !== undefined)
        outputs.y.data.set(x.data)
        if (outputs.extra) outputs.extra.data.fill(7)
      },
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const out = g.apply(withExtra, { x: g.input("x", [3]) })
    compile(g.graph, [out.y]).run(feeds)
    const [extra] = compile(g.graph, [out.extra]).run(feeds)
    expect(seen).toEqual([false, true])
    expect(Array.from(extra.data)).toEqual([7, 7, 7])
  })

  it("releases buffers after their last reader and reuses them, within and across runs", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    let v = g.input("x", [1000])
    for (let i = 0; i < 8; i++) v = exp(neg(v))
    const total = sum(v)
    const plan = compile(g.graph, [total])
    plan.run({ x: tensor(new Float64Array(1000), [1000], "float64") })
    // 16 intermediate [1000] tensors, but at most two are alive at once
    expect(plan.lastRunAllocatedBytes).toBeLessThanOrEqual(2 * 8000 + 8)
    const [s] = plan.run({ x: tensor(new Float64Array(1000), [1000], "float64") })
    expect(plan.lastRunAllocatedBytes).toBe(8) // only the fetched scalar is new
    plan.recycle([s])
    plan.run({ x: tensor(new Float64Array(1000), [1000], "float64") })
    expect(plan.lastRunAllocatedBytes).toBe(0)
  })

  it("gives correct results when reused buffers held other values", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [3])
    const y = add(neg(x), neg(neg(x)))
    const plan = compile(g.graph, [y])
    for (let i = 0; i < 3; i++) expect(Array.from(plan.run(feeds)[0].data)).toEqual([0, 0, 0])
  })

  it("wraps a kernel failure with the node, op and input shapes", () => {
    const broken = defineOp({
      name: "broken_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: () => {
        throw new RangeError("boom")
      },
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const y = g.apply(broken, { x: g.input("x", [3]) }).y
    expect(() => compile(g.graph, [y]).run(feeds)).toThrow(/node 'broken_test_\d+' op broken_test: kernel failed: boom \(inputs x: \[3\] float64\)/)
  })
})
