import { describe, expect, it } from "vitest"
import { GraphBuilder, gradValues, linear, linearOp, matmul, mul, sum, tensor, type Tensor } from "../../src/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { describeGoldenFiles, forward, randomTensor } from "../helpers.ts"

describe("matmul", () => {
  it("multiplies hand-worked 2x2 matrices", () => {
    const y = forward(({ a, b }) => matmul(a, b), { a: tensor([1, 2, 3, 4], [2, 2], "float64"), b: tensor([5, 6, 7, 8], [2, 2], "float64") })
    expect(Array.from(y.data)).toEqual([19, 22, 43, 50])
  })

  it("follows torch.matmul shape rules for vectors and broadcast batches", () => {
    const g = new GraphBuilder()
    expect(matmul(g.input("a", [3]), g.input("b", [3])).shape).toEqual([])
    expect(matmul(g.input("c", [3]), g.input("d", [2, 3, 4])).shape).toEqual([2, 4])
    expect(matmul(g.input("e", [2, 5, 3]), g.input("f", [3])).shape).toEqual([2, 5])
    expect(matmul(g.input("h", [4, 1, 5, 3]), g.input("i", [2, 3, 6])).shape).toEqual([4, 2, 5, 6])
    expect(() => matmul(g.input("j", [2, 3]), g.input("k", [4, 5]))).toThrow(/inner sizes 3 and 4 differ/)
    expect(() => matmul(g.input("l", []), g.input("m", [4]))).toThrow(/rank >= 1/)
    expect(() => matmul(g.input("n", [2, 2, 3]), g.input("o", [3, 3, 4]))).toThrow(/do not broadcast/)
  })

  it("computes a dot product and a vector-matrix product", () => {
    const dot = forward(({ a, b }) => matmul(a, b), { a: tensor([1, 2, 3], [3], "float64"), b: tensor([4, 5, 6], [3], "float64") })
    expect(Array.from(dot.data)).toEqual([32])
    const vm = forward(({ a, b }) => matmul(a, b), { a: tensor([1, 2], [2], "float64"), b: tensor([1, 2, 3, 4, 5, 6], [2, 3], "float64") })
    expect(Array.from(vm.data)).toEqual([9, 12, 15])
  })

  const gradCases: [string, number[], number[]][] = [
    ["2-d", [3, 4], [4, 5]],
    ["batched", [2, 3, 4], [2, 4, 2]],
    ["broadcast batch", [2, 1, 3, 4], [3, 4, 2]],
    ["vector @ batch", [4], [2, 4, 3]],
    ["batch @ vector", [2, 3, 4], [4]],
    ["dot", [5], [5]],
  ]
  for (const [name, as, bs] of gradCases) {
    it(`gradient matches finite differences (${name})`, () => {
      const r = checkGradients(({ a, b }) => matmul(a, b), { a: randomTensor(as, 1), b: randomTensor(bs, 2) })
      expect(r.ok, r.summary).toBe(true)
    })
  }

  it("second derivative matches finite differences of the first", () => {
    const r = checkGradients(
      ({ a, b }, builder) => {
        const y = matmul(a, b)
        const [ga] = gradValues(builder, sum(mul(y, y)), [a])
        return ga
      },
      { a: randomTensor([2, 3], 3), b: randomTensor([3, 2], 4) },
    )
    expect(r.ok, r.summary).toBe(true)
  })
})

describe("linear", () => {
  it("computes x W^T + b by hand", () => {
    const y = forward(({ x, w, b }) => linear(x, w, b), {
      x: tensor([1, 2, 3, 4], [2, 2], "float64"),
      w: tensor([1, 0, 1, 1, 0, 2], [3, 2], "float64"),
      b: tensor([10, 20, 30], [3], "float64"),
    })
    expect(Array.from(y.data)).toEqual([11, 23, 34, 13, 27, 38])
  })

  it("rejects mismatched features, bias shapes and attrs", () => {
    const g = new GraphBuilder()
    const x = g.input("x", [4, 5])
    expect(() => linear(x, g.input("w", [3, 6]))).toThrow(/expected x's last dim = weight.shape\[1\]/)
    expect(() => linear(x, g.input("w2", [3, 5]), g.input("b", [4]))).toThrow(/bias \[4\] \(expected \[3\]\)/)
    expect(() => linear(x, g.input("w3", [5]))).toThrow(/expected rank 2/)
    const w = g.input("w4", [3, 5])
    expect(() => g.apply(linearOp, { x, weight: w }, { in_features: 4 })).toThrow(/in_features = 4/)
    expect(() => g.apply(linearOp, { x, weight: w }, { bias: true })).toThrow(/no bias input/)
    expect(linear(g.input("x1", [5]), w).shape).toEqual([3])
    expect(linear(g.input("x3", [2, 7, 5]), w).shape).toEqual([2, 7, 3])
  })

  for (const [name, xs, withBias] of [
    ["2-d", [4, 5], true],
    ["3-d input", [2, 3, 5], true],
    ["no bias", [3, 5], false],
    ["1-d input", [5], true],
  ] as [string, number[], boolean][]) {
    it(`gradient matches finite differences (${name})`, () => {
      const inputs: { [k: string]: Tensor } = { x: randomTensor(xs, 5), w: randomTensor([3, 5], 6) }
      if (withBias) inputs.b = randomTensor([3], 7)
      const r = checkGradients(({ x, w, b }) => linear(x, w, b), inputs)
      expect(r.ok, r.summary).toBe(true)
    })
  }

  it("float32 agrees with float64", () => {
    const inputs = { x: randomTensor([7, 33], 8), w: randomTensor([9, 33], 9), b: randomTensor([9], 10) }
    const y64 = forward(({ x, w, b }) => linear(x, w, b), inputs, "float64")
    const y32 = forward(({ x, w, b }) => linear(x, w, b), inputs, "float32")
    for (let i = 0; i < y64.data.length; i++) expect(Math.abs(y32.data[i] - y64.data[i])).toBeLessThan(1e-5)
  })
})

describeGoldenFiles(["linear.json"], ["linear"])
describeGoldenFiles(["tensor_ops.json"], ["matmul"])
