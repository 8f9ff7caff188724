import { afterEach, describe, expect, it } from "vitest"
import { GraphBuilder, GraphError, compile, crossEntropy, builtinRegistry, defineOp, gradValues, matmul, tensor, type Tensor } from "../../src/index.ts"
import { pairIndependentNodes } from "../../src/exec/pairs.ts"
import { setParallelBackend, type ParallelBackend, type TaskArgs } from "../../src/exec/parallel.ts"
import { buildModelGraph, lenet5 } from "../../src/nn/index.ts"
import { onThreads, randomTensor, standInBackend } from "../helpers.ts"

// Independent nodes of similar cost run side by side, one per thread (src/exec/pairs.ts):
// which pairs the plan forms, that results keep their bits whichever thread runs what, and
// what may not be paired.

/** The stand-in backend of test/helpers.ts, recording the ops of the nodes it was asked to run beside. */
function standIn(onBeside: (task: string, part: TaskArgs) => void = () => {}, threads = 2): ParallelBackend & { beside: string[] } {
  const beside: string[] = []
  const backend = standInBackend({
    threads,
    onBeside(task, part) {
      beside.push((JSON.parse(part.text ?? "{}") as { op: string }).op)
      onBeside(task, part)
    },
  })
  return Object.assign(backend, { beside })
}

afterEach(() => setParallelBackend(undefined))

const float32 = (t: Tensor): Tensor => tensor(t.data, t.shape, "float32")

function lenetTraining() {
  const g = buildModelGraph(lenet5(), { batchSize: 16, training: true, dtype: "float32" })
  const target = g.builder.input("target", [16], "int32")
  const loss = crossEntropy(g.output, target, { reduction: "mean" })
  const grads = gradValues(g.builder, loss, [...g.trainable.values()])
  const plan = compile(g.builder.graph, [loss, ...grads])
  const params = new Map<string, Tensor>([...g.trainable.keys()].map((name, i) => [name, float32(randomTensor([...g.trainable.get(name)!.shape], 300 + i))]))
  const feeds = { x: float32(randomTensor([16, 1, 28, 28], 7)), target: tensor(Array.from({ length: 16 }, (_, i) => i % 10), [16], "int32") }
  const ops = (pair: [string, string]) => pair.map((id) => g.builder.graph.nodes[id].op).sort()
  return { plan, params, feeds, ops }
}

const bits = (ts: readonly Tensor[]) => ts.map((t) => Array.from(t.data))

describe("independent nodes run side by side", () => {
  it("LeNet-5's backward pairs conv2's input and weight gradients and fc1's and fc2's two matmuls", () => {
    const { plan, ops } = lenetTraining()
    // batch 16: conv2's gradients 16*16*100*150 multiply-adds each, fc1's matmuls 16*400*120
    // = 768,000 each; fc2's 16*120*84 = 161,280 are below MIN_PAIR_COST (524,288) at this
    // batch; conv1's weight gradient has no partner (its input gradient is not needed)
    expect(plan.concurrent.map(ops)).toEqual([
      ["matmul", "matmul"],
      ["conv2d_backward_input", "conv2d_backward_weight"],
    ])
    for (const [a, b] of plan.concurrent) expect(plan.order.indexOf(b)).toBe(plan.order.indexOf(a) + 1)
  })

  it("gives the bits of one thread, on a stand-in backend and on real worker threads", async () => {
    const { plan, params, feeds } = lenetTraining()
    const serial = bits(plan.run(feeds, params))
    const backend = standIn()
    setParallelBackend(backend)
    expect(bits(plan.run(feeds, params))).toEqual(serial)
    setParallelBackend(undefined)
    // each pair sends its built-in node to the other thread
    expect(backend.beside.sort()).toEqual(["conv2d_backward_weight", "matmul"])
    const threaded = await onThreads(2, () => [plan.run(feeds, params), plan.run(feeds, params)].map(bits))
    expect(threaded[0]).toEqual(serial)
    expect(threaded[1]).toEqual(serial)
  })

  it("runs no pair side by side when the run says sideBySide: false", () => {
    const { plan, params, feeds } = lenetTraining()
    const serial = bits(plan.run(feeds, params))
    const backend = standIn()
    setParallelBackend(backend)
    expect(bits(plan.run(feeds, params, { sideBySide: false }))).toEqual(serial)
    expect(backend.beside).toEqual([])
    plan.run(feeds, params)
    expect(backend.beside.length).toBe(2)
  })

  it("runs pairs side by side only with exactly two threads (with more, each node splits across all)", () => {
    const { plan, params, feeds } = lenetTraining()
    const serial = bits(plan.run(feeds, params))
    const three = standIn(() => {}, 3)
    setParallelBackend(three)
    expect(bits(plan.run(feeds, params))).toEqual(serial)
    expect(three.beside).toEqual([])
  })

  it("pairs only independent nodes of similar cost", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const a = g.input("a", [128, 128])
    const b = g.input("b", [128, 128])
    const c = g.input("c", [128, 32])
    const d = g.input("d", [128, 64])
    const chained = matmul(matmul(a, b), b) // the second reads the first
    expect(compile(g.graph, [chained]).concurrent).toEqual([])
    const big = matmul(a, b) // 2,097,152 multiply-adds
    const quarter = matmul(a, c) // 524,288: a quarter of it
    const half = matmul(a, d) // 1,048,576: half of it
    expect(compile(g.graph, [big, quarter]).concurrent).toEqual([])
    const paired = compile(g.graph, [big, half])
    expect(paired.concurrent).toEqual([[big.ref.node, half.ref.node]])
    const feeds = Object.fromEntries(["a", "b", "d"].map((k, i) => [k, randomTensor(k === "d" ? [128, 64] : [128, 128], 20 + i)]))
    const serial = bits(paired.run(feeds))
    setParallelBackend(standIn())
    expect(bits(paired.run(feeds))).toEqual(serial)
  })

  it("never sends a custom op to another thread (it exists only where it was defined), but may run one beside a built-in", () => {
    const twiceMatmul = defineOp({
      name: "twice_matmul_test",
      inputs: ["a", "b"],
      outputs: ["y"],
      infer: ({ a, b }) => ({ y: { shape: [a.shape[0], b.shape[1]], dtype: a.dtype } }),
      kernel: ({ inputs: { a, b }, outputs: { y } }) => {
        const [M, K] = a.shape
        const N = b.shape[1]
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0
            for (let p = 0; p < K; p++) s += a.data[i * K + p] * b.data[p * N + j]
            y.data[i * N + j] = 2 * s
          }
        }
      },
      cost: ({ a, b }) => a.shape[0] * a.shape[1] * b.shape[1],
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const a = g.input("a", [96, 96])
    const b = g.input("b", [96, 96])
    const custom1 = g.apply(twiceMatmul, { a, b }).y
    const custom2 = g.apply(twiceMatmul, { a: b, b: a }).y
    // A pair of custom ops is planned (both can be described) but never sent: run in turn.
    const customs = compile(g.graph, [custom1, custom2])
    expect(customs.concurrent).toEqual([[custom1.ref.node, custom2.ref.node]])
    const feeds0 = { a: randomTensor([96, 96], 1), b: randomTensor([96, 96], 2) }
    const serial0 = bits(customs.run(feeds0))
    const backend0 = standIn()
    setParallelBackend(backend0)
    expect(bits(customs.run(feeds0))).toEqual(serial0)
    expect(backend0.beside).toEqual([])
    setParallelBackend(undefined)
    const builtin = matmul(a, b)
    const plan = compile(g.graph, [custom1, builtin])
    expect(plan.concurrent).toEqual([[custom1.ref.node, builtin.ref.node]])
    const feeds = { a: randomTensor([96, 96], 1), b: randomTensor([96, 96], 2) }
    const serial = bits(plan.run(feeds))
    const backend = standIn()
    setParallelBackend(backend)
    expect(bits(plan.run(feeds))).toEqual(serial)
    expect(backend.beside).toEqual(["matmul"])
  })

  it("treats a fused activation's gate as an input: a node gated by its partner's output is not paired", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const a = g.input("a", [96, 96])
    const b = g.input("b", [96, 96])
    const gate = matmul(a, b)
    const product = matmul(b, a)
    const graph = g.graph
    const ops = new Map(graph.order.map((id) => [id, graph.nodes[id].kind === "op" ? builtinRegistry.ops[graph.nodes[id].op] : undefined]))
    const order = ["a", "b", gate.ref.node, product.ref.node]
    expect([...pairIndependentNodes(graph, order, ops).first]).toEqual([gate.ref.node])
    // product's kernel reading gate's output (a fused relu_backward's gate) makes them dependent
    const gated = pairIndependentNodes(graph, order, ops, new Map([[product.ref.node, gate.ref.node]]))
    expect([...gated.first]).toEqual([])
    expect(gated.order).toEqual(order)
  })

  it("moves a partner's feeds up with it, so the order stays one the executor can run", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const a = g.input("a", [128, 128])
    const b = g.input("b", [128, 128])
    const first = matmul(a, b)
    const c = g.input("c", [128, 128]) // created (and ordered) after first
    const second = matmul(c, a)
    const graph = g.graph
    const ops = new Map(graph.order.map((id) => [id, graph.nodes[id].kind === "op" ? builtinRegistry.ops[graph.nodes[id].op] : undefined]))
    const pairs = pairIndependentNodes(graph, ["a", "b", first.ref.node, "c", second.ref.node], ops)
    expect(pairs.order).toEqual(["a", "b", "c", first.ref.node, second.ref.node])
    const plan = compile(graph, [first, second])
    expect(plan.concurrent).toEqual([[first.ref.node, second.ref.node]])
    const feeds = { a: randomTensor([128, 128], 1), b: randomTensor([128, 128], 2), c: randomTensor([128, 128], 3) }
    const serial = bits(plan.run(feeds))
    setParallelBackend(standIn())
    expect(bits(plan.run(feeds))).toEqual(serial)
  })

  it("names the node and op when the kernel sent to the other thread fails", () => {
    const { plan, params, feeds } = lenetTraining()
    setParallelBackend(
      standIn((_task, part) => {
        if (part.text?.includes("conv2d_backward_weight")) throw new Error("worker task 'exec.kernel' failed: out of memory")
      }),
    )
    expect(() => plan.run(feeds, params)).toThrow(/conv2d_backward_weight_\d+.*out of memory|out of memory.*conv2d_backward_weight_\d+/s)
  })

  it("rejects an op cost that is not a finite number, naming the node", () => {
    const bad = defineOp({
      name: "bad_cost_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: () => {},
      cost: () => Number.NaN,
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const y = g.apply(bad, { x: g.input("x", [4]) }).y
    expect(() => compile(g.graph, [y])).toThrow(GraphError)
    expect(() => compile(g.graph, [y])).toThrow(/bad_cost_test_\d+.*cost returned NaN|cost returned NaN.*bad_cost_test/s)
  })
})
