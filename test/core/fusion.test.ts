import { describe, expect, it } from "vitest"
import { GraphBuilder, add, compile, conv2d, gradValues, linear, mul, relu, sum, tensor, type Tensor, type Value } from "../../src/index.ts"
import { randomTensor } from "../helpers.ts"

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
    const { startThreadPool } = await import("../../src/node/threads.ts")
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
    const pool = await startThreadPool(2)
    let parallel: Tensor
    try {
      parallel = run()
    } finally {
      await pool.close()
    }
    expect(bitsOf(parallel)).toEqual(bitsOf(serial))
    expect(bitsOf(serial).some((v) => v === 0) && bitsOf(serial).some((v) => v > 0)).toBe(true)
  }, 60000)
})
