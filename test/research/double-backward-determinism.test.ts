import { describe, expect, it } from "vitest"
import { GraphBuilder, add, adaptiveMaxPool2d, avgPool2d, compile, conv2d, crossEntropy, flatten, gradValues, linear, maxPool2d, maxPool2dWithIndices, maxUnpool2d, mul, sum, tanh, tensor, type Tensor } from "../../src/index.ts"
import { Random } from "../../src/tensor/random.ts"

const rand = (rng: Random, shape: number[], scale = 1): Tensor =>
  tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-scale, scale)), shape, "float64")

describe("double backward through a CNN with max pooling (gradient penalty)", () => {
  // L = CE(fc(flatten(maxpool(tanh(conv(x))))), labels); penalty P = ||dL/dx||^2.
  // dP/dw needs the gradient of max_pool2d_backward (a gather at the saved argmax) and of
  // conv's backward ops. Checked against central differences of P itself. tanh instead
  // of relu keeps P smooth (relu'' = 0 would hide mistakes in the second-order path).
  const build = () => {
    const g = new GraphBuilder({ dtype: "float64" })
    const x = g.input("x", [2, 1, 6, 6])
    const labels = g.input("labels", [2], "int32")
    const w = g.input("w", [2, 1, 3, 3])
    const fc = g.input("fc", [3, 8])
    const h = maxPool2d(tanh(conv2d(x, w)), { kernel_size: 2 })
    const loss = crossEntropy(linear(flatten(h, 1), fc), labels)
    const [gx] = gradValues(g, loss, [x])
    const penalty = sum(mul(gx, gx))
    const [dw, dfc] = gradValues(g, penalty, [w, fc])
    return { g, penalty, dw, dfc }
  }

  it("matches finite differences of the penalty", () => {
    const rng = new Random(3)
    const feeds: { [k: string]: Tensor } = {
      x: rand(rng, [2, 1, 6, 6]),
      labels: tensor([0, 2], [2], "int32"),
      w: rand(rng, [2, 1, 3, 3], 0.8),
      fc: rand(rng, [3, 8], 0.8),
    }
    const { g, penalty, dw, dfc } = build()
    const [p0, gw, gfc] = compile(g.graph, [penalty, dw, dfc]).run(feeds)
    expect(p0.data[0]).toBeGreaterThan(0)
    const evaluate = compile(g.graph, [penalty])
    const eps = 1e-6
    for (const [name, analytic] of [["w", gw], ["fc", gfc]] as const) {
      const base = feeds[name]
      for (let i = 0; i < base.data.length; i++) {
        const x0 = base.data[i]
        base.data[i] = x0 + eps
        const plus = evaluate.run(feeds)[0].data[0]
        base.data[i] = x0 - eps
        const minus = evaluate.run(feeds)[0].data[0]
        base.data[i] = x0
        const numeric = (plus - minus) / (2 * eps)
        expect(Math.abs(analytic.data[i] - numeric), `${name}[${i}]`).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric))
      }
    }
  })
})

describe("deterministic backward", () => {
  // Overlapping windows, adaptive bins and unpool with repeated indices all accumulate
  // into shared input elements: the order is fixed (per (n, c) plane, increasing output
  // index), so repeated runs and fresh plans give identical bits.
  it("gives bit-identical gradients across runs and plans for overlapping scatter-adds", () => {
    const rng = new Random(11)
    const x = rand(rng, [2, 3, 9, 9])
    const g = new GraphBuilder({ dtype: "float64" })
    const xv = g.input("x", x.shape)
    const { y, indices } = maxPool2dWithIndices(xv, { kernel_size: 3, stride: 1 })
    const total = sum(mul(adaptiveMaxPool2d(xv, [4, 5]), adaptiveMaxPool2d(xv, [4, 5])))
    const unpooled = maxUnpool2d(y, indices, { kernel_size: 3, stride: 1 })
    const loss = sum(mul(add(unpooled, avgPool2d(xv, { kernel_size: 3, stride: 1, padding: 1 })), unpooled))
    const [gx] = gradValues(g, sum(mul(loss, total)), [xv])
    const first = compile(g.graph, [gx]).run({ x })[0].data.slice()
    const plan = compile(g.graph, [gx])
    for (let i = 0; i < 3; i++) {
      const again = plan.run({ x })[0].data
      expect(Buffer.from(again.buffer).equals(Buffer.from(first.buffer))).toBe(true)
    }
  })
})
