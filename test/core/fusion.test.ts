import { describe, expect, it } from "vitest"
import { GraphBuilder, add, compile, conv2d, gradValues, linear, maxPool2d, mul, relu, sum, tensor, type Tensor, type Value } from "../../src/index.ts"
import { onThreads, randomTensor } from "../helpers.ts"

// The executor folds a relu into the conv2d/linear kernel before it when the relu is the
// only reader of that output. The reference for every fused result is the same graph with
// the pre-activation also fetched, which rules fusion out.
type Dtype = "float32" | "float64"

function build(dtype: Dtype, op: "conv" | "linear") {
  const g = new GraphBuilder({ dtype })
  const x = g.input("x", op === "conv" ? [3, 2, 9, 9] : [5, 12])
  const w = g.input("w", op === "conv" ? [4, 2, 3, 3] : [7, 12])
  const b = g.input("b", [op === "conv" ? 4 : 7])
  const pre = op === "conv" ? conv2d(x, w, b, { padding: 1 }) : linear(x, w, b)
  const y = relu(pre)
  const loss = sum(mul(y, y))
  const grads = gradValues(g, loss, [x, w, b])
  return { g, pre, y, grads }
}

function feeds(op: "conv" | "linear", dtype: Dtype): { [k: string]: Tensor } {
  const shapes = op === "conv" ? { x: [3, 2, 9, 9], w: [4, 2, 3, 3], b: [4] } : { x: [5, 12], w: [7, 12], b: [7] }
  return Object.fromEntries(Object.entries(shapes).map(([k, s], i) => [k, tensor(randomTensor(s, 50 + i).data, s, dtype)]))
}

const bitsOf = (t: Tensor) => Array.from(t.data)

describe("relu fused into the op before it", () => {
  for (const op of ["conv", "linear"] as const) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`${op} ${dtype}: same forward and gradient bits as the unfused plan`, () => {
        const { g, pre, y, grads } = build(dtype, op)
        const fused = compile(g.graph, [y, ...grads])
        const unfused = compile(g.graph, [y, ...grads, pre])
        expect(fused.fused).toEqual([[pre.ref.node, y.ref.node]])
        expect(unfused.fused).toEqual([])
        const f = feeds(op, dtype)
        const a = fused.run(f)
        const b = unfused.run(f)
        for (let i = 0; i < a.length; i++) expect(bitsOf(a[i])).toEqual(bitsOf(b[i]))
        // the relu really happened (some pre-activations are negative)
        expect(bitsOf(b[b.length - 1]).some((v) => v < 0)).toBe(true)
        expect(bitsOf(a[0]).every((v) => v >= 0)).toBe(true)
        // a second run on recycled buffers gives the same bits
        const again = fused.run(f)
        for (let i = 0; i < a.length; i++) expect(bitsOf(again[i])).toEqual(bitsOf(a[i]))
      })
    }
  }

  it("is not applied when the pre-activation has another reader", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2, 1, 5, 5])
    const w = g.input("w", [2, 1, 3, 3])
    const pre: Value = conv2d(x, w)
    const out = add(relu(pre), pre)
    expect(compile(g.graph, [out]).fused).toEqual([])
  })
})

describe("relu fused into a conv split across worker threads", () => {
  it("gives the bits of one thread", async () => {
    const f = { x: randomTensor([8, 8, 24, 24], 60), w: randomTensor([16, 8, 3, 3], 61) }
    const run = () => {
      const g = new GraphBuilder({ dtype: "float32" })
      const x = g.input("x", f.x.shape)
      const w = g.input("w", f.w.shape)
      const y = relu(conv2d(x, w, undefined, { padding: 1 }))
      const plan = compile(g.graph, [y])
      expect(plan.fused.length).toBe(1)
      return plan.run({ x: tensor(f.x.data, f.x.shape, "float32"), w: tensor(f.w.data, f.w.shape, "float32") })[0]
    }
    const serial = run()
    const parallel = await onThreads(2, run)
    expect(bitsOf(parallel)).toEqual(bitsOf(serial))
    expect(bitsOf(serial).some((v) => v === 0) && bitsOf(serial).some((v) => v > 0)).toBe(true)
  }, 60000)
})

// relu -> max pool: the relu's gradient, relu_backward(g, y), folds into the pool's backward
// scatter (KernelArgs.activationMask). Reference: the same graph with the pool backward's
// output also fetched, which rules the fusion out.
describe("relu_backward fused into max pooling's backward", () => {
  const shape = [2, 3, 8, 8]
  /** Pre-activations with exact zeros (both signs), negatives and NaN where the relu's gate decides. */
  function input(dtype: Dtype): Tensor {
    const t = randomTensor(shape, 70)
    const data = Array.from(t.data)
    // whole windows <= 0 (the max is 0 or negative: gated), and a NaN (passes)
    for (const i of [0, 1, 8, 9]) data[i] = i % 2 === 0 ? 0 : -0
    for (const i of [2, 3, 10, 11]) data[i] = -1 - i
    data[20] = NaN
    return tensor(data, shape, dtype)
  }
  const pools = [
    { name: "2x2 stride 2", attrs: { kernel_size: [2, 2], stride: [2, 2] } },
    { name: "3x3 stride 1 pad 1 (overlapping windows add up)", attrs: { kernel_size: [3, 3], stride: [1, 1], padding: [1, 1] } },
  ]
  for (const pool of pools) {
    for (const dtype of ["float32", "float64"] as const) {
      it(`${pool.name}, ${dtype}: same gradient bits as the unfused plan`, () => {
        const g = new GraphBuilder({ dtype })
        const x = g.input("x", shape)
        const c = g.input("c", shape)
        const p = maxPool2d(relu(mul(x, c)), pool.attrs)
        // upstream gradient d: nonzero also where the window's max is 0, so the gate shows
        const d = g.input("d", p.shape)
        const [gx] = gradValues(g, sum(mul(p, d)), [x])
        const fused = compile(g.graph, [gx])
        const pair = fused.fused.find(([producer]) => g.graph.nodes[producer].kind === "op" && g.graph.nodes[producer].op === "max_pool2d_backward")
        expect(pair).toBeDefined()
        expect(g.graph.nodes[pair![1]].op).toBe("relu_backward")
        const unfused = compile(g.graph, [gx, { node: pair![0], output: "y" }])
        expect(unfused.fused.some(([producer]) => producer === pair![0])).toBe(false)
        const f = {
          x: input(dtype),
          c: tensor(randomTensor(shape, 71).data.map((v) => Math.abs(v) + 0.5), shape, dtype),
          d: tensor(randomTensor([...p.shape], 72).data.map((v) => v + 2), [...p.shape], dtype),
        }
        const a = fused.run(f)[0]
        const b = unfused.run(f)
        expect(bitsOf(a)).toEqual(bitsOf(b[0]))
        // the gate really acted: the ungated scatter has entries the relu's gradient zeroes
        const ungated = bitsOf(b[1])
        expect(ungated.some((v, i) => v !== 0 && bitsOf(a)[i] === 0)).toBe(true)
        // a NaN pre-activation is its windows' max, and relu_backward lets its gradient through
        expect(bitsOf(a)[20]).not.toBe(0)
        const again = fused.run(f)[0]
        expect(bitsOf(again)).toEqual(bitsOf(a))
      })
    }
  }
})

describe("relu_backward fused into a max-pool backward split across worker threads", () => {
  it("gives the bits of one thread", async () => {
    // 8 * 8 * 64 * 64 = 262,144 elements: the scatter is split by planes
    const shape = [8, 8, 64, 64]
    const f = { x: tensor(randomTensor(shape, 80).data, shape, "float32"), d: tensor(randomTensor([8, 8, 32, 32], 81).data, [8, 8, 32, 32], "float32") }
    const run = () => {
      const g = new GraphBuilder({ dtype: "float32" })
      const x = g.input("x", shape)
      const d = g.input("d", [8, 8, 32, 32])
      const p = maxPool2d(relu(x), { kernel_size: [2, 2], stride: [2, 2] })
      const [gx] = gradValues(g, sum(mul(p, d)), [x])
      const plan = compile(g.graph, [gx])
      expect(plan.fused.map(([producer]) => g.graph.nodes[producer].op)).toContain("max_pool2d_backward")
      return plan.run(f)[0]
    }
    const serial = run()
    const parallel = await onThreads(2, run)
    expect(bitsOf(parallel)).toEqual(bitsOf(serial))
  }, 60000)
})
