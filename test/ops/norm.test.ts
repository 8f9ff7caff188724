import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, ShapeError, batchNorm2d, batchNorm2dOp, compile, dropout, dropoutOp, gradValues, mul, sum, tensor, type Tensor } from "../../src/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { checkOpLaws, distinctTensorArb, shapeArb } from "../../src/testing/index.ts"
import { describeGoldenFiles, randomTensor as uniformTensor } from "../helpers.ts"

// values in [-2, 2) unless a test asks otherwise
const randomTensor = (shape: readonly number[], seed: number, low = -2, high = 2): Tensor => uniformTensor(shape, seed, low, high)

function expectClose(got: ArrayLike<number>, want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i] - want[i]), `index ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i])))
  }
}

describe("batch_norm2d", () => {
  it("training: batch statistics, biased variance to normalise, unbiased for the running update", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 1, 1, 2])
    const rm = b.input("rm", [1])
    const rv = b.input("rv", [1])
    const out = batchNorm2d(x, { running_mean: rm, running_var: rv, training: true, eps: 0 })
    expect(out.running_mean).toBeDefined()
    const [y, m, v] = compile(b.graph, [out.y, out.running_mean!, out.running_var!]).run({
      x: tensor([1, 2, 3, 4], [2, 1, 1, 2], "float64"),
      rm: tensor([0], [1], "float64"),
      rv: tensor([1], [1], "float64"),
    })
    const s = Math.sqrt(1.25) // mean 2.5, biased var 1.25
    expectClose(y.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s])
    expectClose(m.data, [0.25])
    expectClose(v.data, [0.9 + 0.1 * (5 / 3)]) // unbiased var 5/3
  })

  it("eval: running statistics normalise and are passed through unchanged", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [1, 2, 1, 2])
    const ins = { weight: b.input("w", [2]), bias: b.input("bb", [2]), running_mean: b.input("rm", [2]), running_var: b.input("rv", [2]) }
    const out = b.apply(batchNorm2dOp, { x, ...ins }, { training: false, eps: 0 })
    const [y, rm] = compile(b.graph, [out.y, out.running_mean]).run({
      x: tensor([1, 2, 3, 4], [1, 2, 1, 2], "float64"),
      w: tensor([2, 1], [2], "float64"),
      bb: tensor([0, 10], [2], "float64"),
      rm: tensor([1, 3], [2], "float64"),
      rv: tensor([4, 0.25], [2], "float64"),
    })
    expectClose(y.data, [0, 1, 10, 12])
    expectClose(rm.data, [1, 3])
    expect(batchNorm2d(x, { ...ins, training: false }).running_mean).toBeUndefined()
  })

  it("gradients for x, weight and bias match finite differences (training and eval)", () => {
    const x = randomTensor([3, 2, 2, 3], 1)
    const weight = randomTensor([2], 2, 0.5, 2)
    const bias = randomTensor([2], 3)
    const running_mean = randomTensor([2], 4)
    const running_var = randomTensor([2], 5, 0.5, 2)
    for (const training of [true, false]) {
      const r = checkGradients(
        (v) => batchNorm2d(v.x, { weight: v.weight, bias: v.bias, running_mean: v.running_mean, running_var: v.running_var, training, eps: 1e-3 }).y,
        { x, weight, bias, running_mean, running_var },
        { wrt: ["x", "weight", "bias"] },
      )
      expect(r.ok, `training=${training}\n${r.summary}`).toBe(true)
    }
    const noAffine = checkGradients((v) => batchNorm2d(v.x, { training: true }).y, { x })
    expect(noAffine.ok, noAffine.summary).toBe(true)
  })

  it("double backward (gradients of gx, gweight, gbias) matches finite differences", () => {
    const x = randomTensor([2, 2, 2, 3], 11)
    const weight = randomTensor([2], 12, 0.5, 2)
    const bias = randomTensor([2], 13)
    const running_mean = randomTensor([2], 14)
    const running_var = randomTensor([2], 15, 0.5, 2)
    const u = randomTensor([2, 2, 2, 3], 16)
    for (const training of [true, false]) {
      for (const which of [0, 1, 2]) {
        const r = checkGradients(
          (v, b) => {
            const y = batchNorm2d(v.x, { weight: v.weight, bias: v.bias, running_mean: v.running_mean, running_var: v.running_var, training, eps: 1e-3 }).y
            return gradValues(b, sum(mul(y, v.u)), [v.x, v.weight, v.bias])[which]
          },
          { x, weight, bias, running_mean, running_var, u },
          { wrt: ["x", "weight", "u"] },
        )
        expect(r.ok, `training=${training}, grad #${which}\n${r.summary}`).toBe(true)
      }
    }
    const noAffine = checkGradients(
      (v, b) => gradValues(b, sum(mul(batchNorm2d(v.x, { training: true }).y, v.u)), [v.x])[0],
      { x, u },
    )
    expect(noAffine.ok, noAffine.summary).toBe(true)
  })

  it("a constant channel (variance 0) gets a finite gradient scaled by 1/sqrt(eps)", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 1, 1, 2])
    const w = b.input("w", [1])
    const u = b.input("u", [2, 1, 1, 2])
    const y = batchNorm2d(x, { weight: w, bias: undefined, training: true, eps: 1e-4 }).y
    const [gx, gw] = gradValues(b, sum(mul(y, u)), [x, w])
    const [yv, gxv, gwv] = compile(b.graph, [y, gx, gw]).run({
      x: tensor([3, 3, 3, 3], [2, 1, 1, 2], "float64"),
      w: tensor([2], [1], "float64"),
      u: tensor([1, 2, 3, 6], [2, 1, 1, 2], "float64"),
    })
    expectClose(yv.data, [0, 0, 0, 0])
    // gx = w / sqrt(eps) * (u - mean(u)), mean(u) = 3
    expectClose(gxv.data, [-2 * 200, -1 * 200, 0, 3 * 200])
    expectClose(gwv.data, [0])
  })

  it("runs in float32", () => {
    const b = new GraphBuilder({ dtype: "float32" })
    const x = b.input("x", [2, 3, 2, 2])
    const y = batchNorm2d(x, { training: true }).y
    const [gx] = gradValues(b, sum(mul(y, y)), [x])
    const [yv, gv] = compile(b.graph, [y, gx]).run({ x: tensor(randomTensor([2, 3, 2, 2], 9).data, [2, 3, 2, 2], "float32") })
    expect(yv.dtype).toBe("float32")
    // each channel of y has mean 0 and (biased) variance ~1
    for (let c = 0; c < 3; c++) {
      const vals = [0, 1].flatMap((n) => Array.from(yv.data.slice((n * 3 + c) * 4, (n * 3 + c) * 4 + 4)))
      expect(Math.abs(vals.reduce((a, v) => a + v, 0))).toBeLessThan(1e-5)
    }
    expect(Array.from(gv.data).every(Number.isFinite)).toBe(true)
  })

  it("bad shapes and attrs are clear build-time errors", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 3, 4, 4])
    // any [N, C, *] is accepted (BatchNorm1d/3d share the op); a rank-1 input is not
    expect(() => batchNorm2d(b.input("x1", [3]), { training: true })).toThrow(/expected \[N, C, \*\] of rank >= 2/)
    expect(() => b.apply(batchNorm2dOp, { x }, { training: true, num_features: 4 })).toThrow(/num_features = 4/)
    expect(() => batchNorm2d(x, { training: false })).toThrow(/eval mode .* needs running_mean/)
    expect(() => batchNorm2d(x, { weight: b.input("w", [2]), training: true })).toThrow(/expected one value per channel: \[3\]/)
    expect(() => batchNorm2d(b.input("one", [1, 3, 1, 1]), { training: true })).toThrow(/more than one value per channel/)
    expect(() => b.apply(batchNorm2dOp, { x }, { training: true, affine: true })).toThrow(ShapeError)
    expect(() => b.apply(batchNorm2dOp, { x }, { training: true, momentum: 2 })).toThrow(/momentum/)
  })
})

describe("batch_norm2d op laws on random shapes", () => {
  it("training and eval, with and without affine", () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 4, maxRank: 4, maxDim: 3 })
          .filter((s) => s[0] * s[2] * s[3] > 1)
          .chain((s) => fc.tuple(distinctTensorArb(s), distinctTensorArb([s[1]], { offset: 1.5, margin: 0.05 }), fc.boolean(), fc.boolean())),
        ([x, w, training, affine]) => {
          const c = x.shape[1]
          const feeds = { x, w, b: tensor(w.data.map((v) => v - 1), [c], "float64"), rm: tensor(w.data.map((v) => v / 3), [c], "float64"), rv: tensor(w.data.map((v) => Math.abs(v) + 0.5), [c], "float64") }
          const r = checkOpLaws(
            ({ x, w, b, rm, rv }) => batchNorm2d(x, { weight: affine ? w : undefined, bias: affine ? b : undefined, running_mean: rm, running_var: rv, training, eps: 1e-3 }).y,
            feeds,
            { wrt: affine ? ["x", "w", "b"] : ["x"] },
          )
          expect(r.violations).toEqual([])
        },
      ),
      { numRuns: 15 },
    )
  })
})

describe("dropout", () => {
  function runDropout(seed: number, p: number, n = 2000) {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [n])
    const s = b.input("seed", [], "int32")
    const out = b.apply(dropoutOp, { x, seed: s }, { p, training: true })
    const [gx] = gradValues(b, sum(mul(out.y, x)), [x])
    const xs = tensor(Array.from({ length: n }, (_, i) => 1 + (i % 7)), [n], "float64")
    const [y, mask, g] = compile(b.graph, [out.y, out.mask, gx]).run({ x: xs, seed: tensor([seed], [], "int32") })
    return { x: xs.data, y: y.data, mask: mask.data, g: g.data }
  }

  it("is reproducible from the seed and fresh per seed", () => {
    const a = runDropout(42, 0.3)
    const again = runDropout(42, 0.3)
    const other = runDropout(43, 0.3)
    expect(Array.from(again.y)).toEqual(Array.from(a.y))
    expect(Array.from(other.mask)).not.toEqual(Array.from(a.mask))
  })

  it("keeps about 1 - p of the elements, scaled by 1/(1 - p); gradient = gy * mask", () => {
    const p = 0.3
    const { x, y, mask, g } = runDropout(7, p)
    let kept = 0
    for (let i = 0; i < y.length; i++) {
      expect(mask[i] === 0 || mask[i] === 1 / (1 - p)).toBe(true)
      if (mask[i] !== 0) kept++
      expect(y[i]).toBe(x[i] * mask[i])
      // L = sum(y * x) = sum(mask x^2): dL/dx = 2 mask x
      expect(g[i]).toBeCloseTo(2 * mask[i] * x[i], 12)
    }
    expect(kept / y.length).toBeGreaterThan(0.65)
    expect(kept / y.length).toBeLessThan(0.75)
  })

  it("is the identity in eval mode and for p = 0, and zero for p = 1", () => {
    const b = new GraphBuilder({ dtype: "float32" })
    const x = b.input("x", [3])
    const seed = b.input("seed", [], "int32")
    const evalY = dropout(x, { p: 0.5, training: false })
    const p0 = dropout(x, { p: 0 })
    const p1 = dropout(x, { p: 1, seed })
    const [gx] = gradValues(b, sum(mul(evalY, x)), [x])
    const [e, z, one, g] = compile(b.graph, [evalY, p0, p1, gx]).run({ x: tensor([1, -2, 3], [3], "float32"), seed: tensor([1], [], "int32") })
    expect(Array.from(e.data)).toEqual([1, -2, 3])
    expect(Array.from(z.data)).toEqual([1, -2, 3])
    expect(Array.from(one.data)).toEqual([0, 0, 0])
    expect(Array.from(g.data)).toEqual([2, -4, 6])
  })

  it("training with 0 < p < 1 requires an int32 scalar seed", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [3])
    expect(() => dropout(x, { p: 0.5 })).toThrow(/needs a seed input/)
    expect(() => dropout(x, { p: 0.5, seed: b.input("f", []) })).toThrow(/expected an int32 scalar/)
    expect(() => dropout(x, { p: 1.5 })).toThrow(/expected a probability/)
  })
})

describeGoldenFiles(["batch_norm.json"])
