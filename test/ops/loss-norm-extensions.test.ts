import { describe, expect, it } from "vitest"
import { GraphBuilder, binaryCrossEntropyWithLogits, batchNorm, compile, conv2d, mseLoss, tensor } from "../../src/index.ts"
import { LPPool3d } from "../../src/nn/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"

const run = (b: GraphBuilder, fetch: Parameters<typeof compile>[1], feeds: Parameters<ReturnType<typeof compile>["run"]>[0]) => compile(b.graph, fetch).run(feeds)

describe("mse_loss broadcasting (hand-worked)", () => {
  it("x [2, 1] against target [3] is a [2, 3] loss; mean divides by 6", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 1])
    const t = b.input("t", [3])
    // (x_i - t_j)^2 for x = [1, 2], t = [0, 1, 3]: [1, 0, 4] and [4, 1, 1] -> sum 11
    const [none, mean] = run(b, [mseLoss(x, t, { reduction: "none" }), mseLoss(x, t)], { x: tensor([1, 2], [2, 1], "float64"), t: tensor([0, 1, 3], [3], "float64") })
    expect(none.shape).toEqual([2, 3])
    expect(Array.from(none.data)).toEqual([1, 0, 4, 4, 1, 1])
    expect(mean.data[0]).toBeCloseTo(11 / 6, 12)
  })
  it("gradients are summed back to each input's shape (finite differences)", () => {
    const x = tensor([0.3, -1.2, 0.8], [3, 1], "float64")
    const target = tensor([0.5, -0.25, 2], [1, 3], "float64")
    const report = checkGradients(({ x, target }) => mseLoss(x, target, { reduction: "sum" }), { x, target })
    expect(report.ok, report.summary).toBe(true)
  })
})

describe("binary_cross_entropy_with_logits weight and pos_weight (hand-worked)", () => {
  it("at x = 0 the loss is (1 + (pw - 1) t) log 2, times weight", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 2])
    const t = b.input("t", [2, 2])
    const pw = b.input("pw", [2])
    const w = b.input("w", [2, 1])
    const [y] = run(b, [binaryCrossEntropyWithLogits(x, t, { pos_weight: pw, weight: w, reduction: "none" })], {
      x: tensor([0, 0, 0, 0], [2, 2], "float64"),
      t: tensor([1, 0, 1, 1], [2, 2], "float64"),
      pw: tensor([3, 5], [2], "float64"),
      w: tensor([1, 2], [2, 1], "float64"),
    })
    const l2 = Math.log(2)
    // row 0 (weight 1): t = 1 with pw 3 -> 3 log 2; t = 0 -> log 2. Row 1 (weight 2): 2*3 log 2, 2*5 log 2
    ;[3, 1, 6, 10].forEach((k, i) => expect(y.data[i]).toBeCloseTo(k * l2, 12))
  })
  it("gradients for x and target match finite differences with both weights", () => {
    const x = tensor([0.7, -2.1, 3.3, -0.4, 1.1, 0.2], [2, 3], "float64")
    const target = tensor([1, 0, 0.3, 0.9, 0, 1], [2, 3], "float64")
    const pos_weight = tensor([0.5, 2, 4], [3], "float64")
    const weight = tensor([1.5, 0.25], [2, 1], "float64")
    const report = checkGradients(({ x, target, pos_weight, weight }) => binaryCrossEntropyWithLogits(x, target, { pos_weight, weight }), { x, target, pos_weight, weight }, { wrt: ["x", "target"] })
    expect(report.ok, report.summary).toBe(true)
  })
})

describe("rank-generic batch norm and unbatched conv", () => {
  it("batch_norm on [N, C] normalises each column (hand-worked)", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 2])
    const [y] = run(b, [batchNorm(x, { training: true, eps: 0 }).y], { x: tensor([1, 10, 3, 30], [2, 2], "float64") })
    expect(Array.from(y.data).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([-1, -1, 1, 1])
  })
  it("conv2d on unbatched [C, H, W] equals the batch-of-one result without its batch dim", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const w = b.input("w", [1, 1, 2, 2])
    const y = conv2d(b.input("x", [1, 2, 2]), w)
    expect(y.shape).toEqual([1, 1, 1])
    const [out] = run(b, [y], { x: tensor([1, 2, 3, 4], [1, 2, 2], "float64"), w: tensor([1, 0, 0, 1], [1, 1, 2, 2], "float64") })
    expect(out.data[0]).toBe(5)
  })
})

describe("LPPool3d (no PyTorch 1.13 counterpart: hand-worked and finite differences)", () => {
  it("p = 2 over a 2x2x2 window is the root of the sum of squares", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [1, 1, 2, 2, 2])
    const [y] = run(b, [new LPPool3d(2, 2).forward(x)], { x: tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2], "float64") })
    expect(y.data[0]).toBeCloseTo(Math.sqrt(204), 12)
  })
  it("gradient matches finite differences", () => {
    const x = tensor(Array.from({ length: 2 * 3 * 4 * 3 }, (_, i) => 0.2 + ((i * 37) % 23) / 10), [1, 2, 3, 4, 3], "float64")
    const report = checkGradients(({ x }) => new LPPool3d(3, [2, 2, 1], { stride: [1, 2, 1] }).forward(x), { x })
    expect(report.ok, report.summary).toBe(true)
  })
})
