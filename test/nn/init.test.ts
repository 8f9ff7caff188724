import { describe, expect, it } from "vitest"
import { AttrError, Random, ShapeError } from "../../src/index.ts"
import { calculateGain, defaultBiasInit, defaultWeightInit, describeInit, fanInAndOut, initTensor, uniformBound } from "../../src/nn/init.ts"

describe("fan in / fan out", () => {
  it("follows PyTorch's _calculate_fan_in_and_fan_out", () => {
    expect(fanInAndOut([120, 400])).toEqual({ fanIn: 400, fanOut: 120 })
    expect(fanInAndOut([16, 6, 5, 5])).toEqual({ fanIn: 150, fanOut: 400 })
    // grouped conv weight (C_out, C_in / groups, k): fan_in = C_in / groups * k
    expect(fanInAndOut([8, 2, 3])).toEqual({ fanIn: 6, fanOut: 24 })
    expect(() => fanInAndOut([5])).toThrow(ShapeError)
  })
})

describe("initialisers", () => {
  it("calculate_gain values", () => {
    expect(calculateGain("relu")).toBe(Math.SQRT2)
    expect(calculateGain("tanh")).toBe(5 / 3)
    expect(calculateGain("linear")).toBe(1)
    expect(calculateGain("leaky_relu")).toBeCloseTo(Math.sqrt(2 / (1 + 1e-4)), 15)
    expect(calculateGain("leaky_relu", Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15)
  })

  it("PyTorch's default kaiming_uniform(a = sqrt(5)) has bound 1 / sqrt(fan_in)", () => {
    expect(uniformBound(defaultWeightInit, [6, 1, 5, 5])).toBeCloseTo(1 / 5, 14)
    expect(uniformBound(defaultWeightInit, [120, 400])).toBeCloseTo(1 / 20, 14)
    expect(uniformBound(defaultBiasInit(400), [120])).toBe(1 / 20)
    expect(defaultBiasInit(0)).toEqual({ kind: "uniform", low: -0, high: 0 })
  })

  it("draws weights and biases inside their bounds, covering most of the range", () => {
    const w = initTensor(defaultWeightInit, [16, 6, 5, 5], "float64", new Random(1))
    const bound = 1 / Math.sqrt(150)
    const vals = Array.from(w.data)
    expect(Math.max(...vals)).toBeLessThan(bound)
    expect(Math.min(...vals)).toBeGreaterThanOrEqual(-bound)
    expect(Math.max(...vals)).toBeGreaterThan(0.95 * bound)
    expect(Math.min(...vals)).toBeLessThan(-0.95 * bound)
    // mean of U(-b, b) over 2400 draws is close to 0
    expect(Math.abs(vals.reduce((a, b) => a + b, 0) / vals.length)).toBeLessThan(0.1 * bound)
    const b = initTensor(defaultBiasInit(150), [16], "float32", new Random(1))
    for (const v of b.data) expect(Math.abs(v)).toBeLessThanOrEqual(Math.fround(bound))
  })

  it("is deterministic bit for bit per seed, and seeds differ", () => {
    const a = initTensor(defaultWeightInit, [4, 3, 3, 3], "float64", new Random(42))
    const b = initTensor(defaultWeightInit, [4, 3, 3, 3], "float64", new Random(42))
    const c = initTensor(defaultWeightInit, [4, 3, 3, 3], "float64", new Random(43))
    expect(Array.from(a.data)).toEqual(Array.from(b.data))
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data))
    // float32 is the float64 draw rounded
    const f = initTensor(defaultWeightInit, [4, 3, 3, 3], "float32", new Random(42))
    expect(Array.from(f.data)).toEqual(Array.from(a.data).map(Math.fround))
  })

  it("constant, normal and xavier kinds", () => {
    expect(Array.from(initTensor({ kind: "constant", value: 1 }, [3], "float64", new Random(0)).data)).toEqual([1, 1, 1])
    const n = initTensor({ kind: "normal", mean: 2, std: 0.5 }, [2000], "float64", new Random(0))
    const mean = Array.from(n.data).reduce((a, b) => a + b, 0) / 2000
    expect(Math.abs(mean - 2)).toBeLessThan(0.05)
    expect(uniformBound({ kind: "xavier_uniform", gain: 1 }, [10, 20])).toBeCloseTo(Math.sqrt(6 / 30), 15)
    expect(() => uniformBound({ kind: "constant", value: 0 }, [2, 2])).toThrow(AttrError)
    expect(describeInit(defaultWeightInit)).toMatch(/^kaiming_uniform\(a=2.236/)
  })
})
