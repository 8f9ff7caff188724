import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, KernelError, ShapeError, binaryCrossEntropyWithLogits, compile, crossEntropy, gradValues, logSoftmax, mseLoss, mul, nllLoss, sum, tensor, type Tensor, type Value } from "../../src/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { checkOpLaws, distinctTensorArb, shapeArb } from "../../src/testing/index.ts"
import { describeGoldenFiles, randomTensor as uniformTensor } from "../helpers.ts"

// values in [-2, 2) unless a test asks otherwise
const randomTensor = (shape: readonly number[], seed: number, low = -2, high = 2): Tensor => uniformTensor(shape, seed, low, high)

function labels(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return tensor(values, shape, "int32")
}

/** Runs a loss built on named inputs; returns the loss value and the gradients wrt `wrt`. */
function lossAndGrads(
  build: (v: { [name: string]: Value }) => Value,
  feeds: { [name: string]: Tensor },
  wrt: readonly string[] = ["x"],
  dtype: "float64" | "float32" = "float64",
): { loss: number[]; grads: number[][] } {
  const b = new GraphBuilder({ dtype })
  const v: { [name: string]: Value } = {}
  for (const [n, t] of Object.entries(feeds)) v[n] = b.input(n, t.shape, t.dtype)
  const y = build(v)
  const loss = y.shape.length === 0 ? y : sum(y)
  const grads = gradValues(b, loss, wrt.map((n) => v[n]))
  const out = compile(b.graph, [y, ...grads]).run(feeds)
  return { loss: Array.from(out[0].data), grads: out.slice(1).map((t) => Array.from(t.data)) }
}

function expectClose(got: readonly number[], want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length)
  got.forEach((g, i) => expect(Math.abs(g - want[i]), `index ${i}: ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want[i]))))
}

describe("cross_entropy", () => {
  it("hand-worked: -log softmax at the target, gradient softmax - onehot", () => {
    const { loss, grads } = lossAndGrads((v) => crossEntropy(v.x, v.t), { x: tensor([0, Math.log(3), 1, 1], [2, 2], "float64"), t: labels([1, 0]) })
    expectClose(loss, [(-Math.log(0.75) - Math.log(0.5)) / 2])
    expectClose(grads[0], [0.25 / 2, -0.25 / 2, -0.5 / 2, 0.5 / 2])
  })

  it("label smoothing: (1 - e) nll + e/C * sum(-logp)", () => {
    const x = randomTensor([3, 4], 1)
    const t = labels([2, 0, 3])
    const e = 0.2
    const logp = lossAndGrads((v) => logSoftmax(v.x, 1), { x, t }).loss
    const want = [0, 1, 2].map((n) => {
      const row = logp.slice(n * 4, n * 4 + 4)
      return (1 - e) * -row[t.data[n]] + (e / 4) * row.reduce((a, b) => a - b, 0)
    })
    expectClose(lossAndGrads((v) => crossEntropy(v.x, v.t, { reduction: "none", label_smoothing: e }), { x, t }).loss, want)
    expectClose(lossAndGrads((v) => crossEntropy(v.x, v.t, { label_smoothing: e }), { x, t }).loss, [(want[0] + want[1] + want[2]) / 3])
  })

  it("spatial [N, C, H, W] equals log_softmax over dim 1 then nll_loss", () => {
    const x = randomTensor([2, 3, 2, 2], 2)
    const t = labels([0, 1, 2, 1, 2, 2, 0, 1], [2, 2, 2])
    for (const reduction of ["mean", "sum", "none"] as const) {
      const fused = lossAndGrads((v) => crossEntropy(v.x, v.t, { reduction }), { x, t })
      const composed = lossAndGrads((v) => nllLoss(logSoftmax(v.x, 1), v.t, { reduction }), { x, t })
      expectClose(fused.loss, composed.loss)
      expectClose(fused.grads[0], composed.grads[0])
    }
  })

  it("ignore_index and class weights: mean divides by the summed weights of kept samples", () => {
    const x = randomTensor([4, 3], 3)
    const t = labels([2, -100, 0, 2])
    const w = tensor([0.5, 2, 3], [3], "float64")
    const got = lossAndGrads((v) => crossEntropy(v.x, v.t, { weight: v.w }), { x, t, w }).loss[0]
    const logp = lossAndGrads((v) => logSoftmax(v.x, 1), { x }).loss
    const kept = [0, 2, 3]
    const num = kept.reduce((a, n) => a - w.data[t.data[n]] * logp[n * 3 + t.data[n]], 0)
    const den = kept.reduce((a, n) => a + w.data[t.data[n]], 0)
    expectClose([got], [num / den])
    const custom = lossAndGrads((v) => crossEntropy(v.x, v.t, { ignore_index: 2, reduction: "sum" }), { x, t: labels([2, 1, 0, 2]) })
    expectClose(custom.loss, [-logp[1 * 3 + 1] - logp[2 * 3 + 0]])
    expect(custom.grads[0].slice(0, 3)).toEqual([0, 0, 0])
  })

  it("gradients match finite differences (class indices, smoothing, weights, ignore, none)", () => {
    const x = randomTensor([4, 5], 4)
    const t = labels([1, 4, -100, 0])
    const w = randomTensor([5], 5, 0.2, 2)
    const u = randomTensor([4], 6)
    const cases: ((v: { [n: string]: Value }) => Value)[] = [
      (v) => crossEntropy(v.x, v.t),
      (v) => crossEntropy(v.x, v.t, { reduction: "sum", label_smoothing: 0.3 }),
      (v) => crossEntropy(v.x, v.t, { weight: v.w, label_smoothing: 0.1 }),
      (v) => mul(crossEntropy(v.x, v.t, { reduction: "none", weight: v.w, label_smoothing: 0.2 }), v.u),
    ]
    for (const f of cases) {
      const r = checkGradients(f, { x, t, w, u }, { wrt: ["x"] })
      expect(r.ok, r.summary).toBe(true)
    }
  })

  it("probability targets: gradients for x and target match finite differences", () => {
    const x = randomTensor([3, 4, 2], 7)
    const t = randomTensor([3, 4, 2], 8, 0, 1) // rows need not sum to 1
    const w = randomTensor([4], 9, 0.2, 2)
    for (const opts of [{}, { label_smoothing: 0.25, reduction: "sum" as const }, { weight: true, reduction: "none" as const }]) {
      const r = checkGradients(
        (v) => {
          const y = crossEntropy(v.x, v.t, { reduction: opts.reduction, label_smoothing: "label_smoothing" in opts ? opts.label_smoothing : 0, weight: "weight" in opts ? v.w : undefined })
          return y
        },
        { x, t, w },
        { wrt: ["x", "t"] },
      )
      expect(r.ok, r.summary).toBe(true)
    }
  })

  it("unbatched [C] logits with a scalar class index", () => {
    const { loss, grads } = lossAndGrads((v) => crossEntropy(v.x, v.t), { x: tensor([0, Math.log(3)], [2], "float64"), t: tensor([1], [], "int32") })
    expectClose(loss, [-Math.log(0.75)])
    expectClose(grads[0], [0.25, -0.25])
  })

  it("huge logits give a finite loss and gradient", () => {
    const { loss, grads } = lossAndGrads((v) => crossEntropy(v.x, v.t, { reduction: "sum" }), {
      x: tensor([1000, -1000, 0, 709, 800, -800], [2, 3], "float64"),
      t: labels([1, 2]),
    })
    expectClose(loss, [2000 + 1600])
    expect(grads[0].every(Number.isFinite)).toBe(true)
    expectClose(grads[0], [1, -1, 0, 0, 1, -1])
  })

  it("an out-of-range class index fails at run time naming the index", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [3, 4])
    const t = b.input("t", [3], "int32")
    const y = crossEntropy(x, t)
    const [gx] = gradValues(b, y, [x])
    const run = (values: number[]) => compile(b.graph, [y, gx]).run({ x: randomTensor([3, 4], 1), t: labels(values) })
    expect(() => run([0, 4, 1])).toThrow(KernelError)
    expect(() => run([0, 4, 1])).toThrow(/target\[1\] = 4 is out of range for 4 classes/)
    expect(() => run([0, 1, -3])).toThrow(/target\[2\] = -3/)
    expect(() => run([0, 1, 3])).not.toThrow()
  })

  it("target shape or dtype mismatches are ShapeErrors at build time", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [3, 4])
    expect(() => crossEntropy(x, b.input("a", [4], "int32"))).toThrow(ShapeError)
    expect(() => crossEntropy(x, b.input("b", [3, 1], "int32"))).toThrow(/expected \[3\]/)
    expect(() => crossEntropy(x, b.input("c", [3]))).toThrow(/probability target \[3\] does not match x \[3, 4\]/)
    expect(() => crossEntropy(x, b.input("d", [3], "int32"), { weight: b.input("w", [3]) })).toThrow(/expected one weight per class/)
    expect(() => crossEntropy(x, b.input("e", [3], "int32"), { label_smoothing: 1.5 })).toThrow(/label_smoothing/)
  })

  it("double backward matches finite differences (x, upstream, probability target)", () => {
    const x = randomTensor([4, 3], 31)
    const t = labels([1, 2, -100, 0])
    const w = randomTensor([3], 32, 0.3, 2)
    const u = randomTensor([4], 33)
    const k = tensor([1.7], [], "float64") // scales a reduced loss: exercises d/d gy
    const tp = randomTensor([4, 3], 34, 0, 1)
    type V = { [n: string]: Value }
    const losses: [string, (v: V) => Value, Tensor, readonly string[]][] = [
      ["plain mean", (v) => mul(crossEntropy(v.x, v.t), v.k), t, ["x", "k"]],
      ["smoothing + weight + ignore, mean", (v) => mul(crossEntropy(v.x, v.t, { weight: v.w, label_smoothing: 0.2 }), v.k), t, ["x", "k"]],
      ["smoothing, sum", (v) => mul(crossEntropy(v.x, v.t, { reduction: "sum", label_smoothing: 0.3 }), v.k), t, ["x", "k"]],
      ["weight, none", (v) => sum(mul(crossEntropy(v.x, v.t, { reduction: "none", weight: v.w, label_smoothing: 0.1 }), v.u)), t, ["x", "u"]],
      ["probabilities, mean", (v) => mul(crossEntropy(v.x, v.t, { label_smoothing: 0.2, weight: v.w }), v.k), tp, ["x", "k", "t"]],
      ["probabilities, none", (v) => sum(mul(crossEntropy(v.x, v.t, { reduction: "none" }), v.u)), tp, ["x", "u", "t"]],
    ]
    for (const [name, f, target, wrt] of losses) {
      const r = checkGradients(
        (v, b) => {
          const [g] = gradValues(b, f(v), [v.x])
          return g
        },
        { x, t: target, w, u, k },
        { wrt },
      )
      expect(r.ok, `${name}\n${r.summary}`).toBe(true)
    }
  })

  it("runs in float32", () => {
    const { loss, grads } = lossAndGrads((v) => crossEntropy(v.x, v.t), { x: tensor([0, Math.log(3), 1, 1], [2, 2], "float32"), t: labels([1, 0]) }, ["x"], "float32")
    expectClose(loss, [(-Math.log(0.75) - Math.log(0.5)) / 2], 1e-6)
    expectClose(grads[0], [0.125, -0.125, -0.25, 0.25], 1e-6)
  })
})

describe("nll_loss", () => {
  it("hand-worked: -x[target], mean over kept samples; weights and ignore_index", () => {
    const x = tensor([-1, -2, -3, -4, -5, -6], [2, 3], "float64")
    expectClose(lossAndGrads((v) => nllLoss(v.x, v.t), { x, t: labels([2, 0]) }).loss, [3.5])
    const w = tensor([1, 2, 3], [3], "float64")
    const r = lossAndGrads((v) => nllLoss(v.x, v.t, { weight: v.w }), { x, t: labels([2, 0]), w })
    expectClose(r.loss, [(9 + 4) / 4])
    expectClose(r.grads[0], [0, 0, -3 / 4, -1 / 4, 0, 0])
    expectClose(lossAndGrads((v) => nllLoss(v.x, v.t, { reduction: "none", ignore_index: 0 }), { x, t: labels([2, 0]) }).loss, [3, 0])
  })

  it("gradient and double backward match finite differences", () => {
    const x = randomTensor([3, 4, 2], 11)
    const t = labels([0, 3, 2, 1, 1, 0], [3, 2])
    const w = randomTensor([4], 12, 0.5, 2)
    const u = randomTensor([3, 2], 13)
    for (const f of [(v: { [n: string]: Value }) => nllLoss(v.x, v.t, { weight: v.w }), (v: { [n: string]: Value }) => mul(nllLoss(v.x, v.t, { reduction: "none" }), v.u)]) {
      const r = checkGradients(f, { x, t, w, u }, { wrt: ["x"] })
      expect(r.ok, r.summary).toBe(true)
    }
    // d/d gy of the backward graph: differentiate the gradient wrt the upstream weights u
    const second = checkGradients(
      (v, b) => {
        const [g] = gradValues(b, sum(mul(nllLoss(v.x, v.t, { reduction: "none" }), v.u)), [v.x])
        return g
      },
      { x, t, u },
      { wrt: ["u"] },
    )
    expect(second.ok, second.summary).toBe(true)
  })

  it("rejects float targets and out-of-range classes", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 3])
    expect(() => nllLoss(x, b.input("f", [2, 3]))).toThrow(/expected int32 class indices/)
    const y = nllLoss(x, b.input("t", [2], "int32"))
    expect(() => compile(b.graph, [y]).run({ x: randomTensor([2, 3], 1), t: labels([3, 0]) })).toThrow(/target\[0\] = 3 is out of range/)
  })
})

describe("mse_loss and binary_cross_entropy_with_logits", () => {
  it("hand-worked mse with gradients for x and target", () => {
    const feeds = { x: tensor([1, 2, 3], [3], "float64"), t: tensor([0, 2, 5], [3], "float64") }
    const mean = lossAndGrads((v) => mseLoss(v.x, v.t), feeds, ["x", "t"])
    expectClose(mean.loss, [5 / 3])
    expectClose(mean.grads[0], [2 / 3, 0, -4 / 3])
    expectClose(mean.grads[1], [-2 / 3, 0, 4 / 3])
    expectClose(lossAndGrads((v) => mseLoss(v.x, v.t, { reduction: "sum" }), feeds).loss, [5])
    expectClose(lossAndGrads((v) => mseLoss(v.x, v.t, { reduction: "none" }), feeds).loss, [1, 0, 4])
  })

  it("bce with logits: stable at +-1000, hand-worked gradient", () => {
    const feeds = { x: tensor([1000, -1000, 1000, -1000, 0], [5], "float64"), t: tensor([0, 1, 1, 0, 0.5], [5], "float64") }
    const r = lossAndGrads((v) => binaryCrossEntropyWithLogits(v.x, v.t, { reduction: "none" }), feeds, ["x", "t"])
    expectClose(r.loss, [1000, 1000, 0, 0, Math.LN2])
    expectClose(r.grads[0], [1, -1, 0, 0, 0])
    expectClose(r.grads[1], [-1000, 1000, -1000, 1000, -0])
  })

  it("gradients and double backward match finite differences", () => {
    const x = randomTensor([2, 3, 2], 21)
    const t = randomTensor([2, 3, 2], 22, 0, 1)
    const u = randomTensor([2, 3, 2], 23)
    const fs: ((v: { [n: string]: Value }) => Value)[] = [
      (v) => mseLoss(v.x, v.t),
      (v) => mul(mseLoss(v.x, v.t, { reduction: "none" }), v.u),
      (v) => binaryCrossEntropyWithLogits(v.x, v.t, { reduction: "sum" }),
      (v) => mul(binaryCrossEntropyWithLogits(v.x, v.t, { reduction: "none" }), v.u),
    ]
    for (const f of fs) {
      const r = checkGradients(f, { x, t, u }, { wrt: ["x", "t"] })
      expect(r.ok, r.summary).toBe(true)
      const second = checkGradients(
        (v, b) => {
          const [g] = gradValues(b, sum(f(v)), [v.x])
          return g
        },
        { x, t, u },
        { wrt: ["x", "t"] },
      )
      expect(second.ok, second.summary).toBe(true)
    }
  })

  it("target shape and dtype are checked at build time", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 3])
    // mse_loss broadcasts like PyTorch; shapes that do not broadcast are an error
    expect(() => mseLoss(x, b.input("a", [2]))).toThrow(/target \[2\] does not broadcast with x \[2, 3\]/)
    expect(() => binaryCrossEntropyWithLogits(x, b.input("a3", [3]))).toThrow(/target \[3\] differs from x \[2, 3\]/)
    expect(() => binaryCrossEntropyWithLogits(x, b.input("b", [2, 3], "int32"))).toThrow(ShapeError)
    expect(() => mseLoss(x, b.input("c", [2, 3]), { reduction: "avg" as "mean" })).toThrow(/expected "mean", "sum" or "none"/)
  })
})

describe("op laws on random shapes", () => {
  it("cross_entropy and nll_loss with class indices over [N, C, d...]", () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 2, maxRank: 4, maxDim: 3 }).chain((s) =>
          fc.tuple(
            distinctTensorArb(s),
            fc.array(fc.integer({ min: 0, max: s[1] - 1 }), { minLength: s[0] * s.slice(2).reduce((a, d) => a * d, 1), maxLength: s[0] * s.slice(2).reduce((a, d) => a * d, 1) }),
            fc.constantFrom("mean" as const, "sum" as const, "none" as const),
            fc.constantFrom(0, 0.15),
          ),
        ),
        ([x, t, reduction, e]) => {
          const target = labels(t, [x.shape[0], ...x.shape.slice(2)])
          const ce = checkOpLaws(({ x, t }) => crossEntropy(x, t, { reduction, label_smoothing: e }), { x, t: target })
          expect(ce.violations).toEqual([])
          const nll = checkOpLaws(({ x, t }) => nllLoss(x, t, { reduction }), { x, t: target })
          expect(nll.violations).toEqual([])
        },
      ),
      { numRuns: 15 },
    )
  })

  it("cross_entropy with probabilities, mse_loss, bce with logits", () => {
    fc.assert(
      fc.property(
        shapeArb({ minRank: 2, maxRank: 3, maxDim: 3 }).chain((s) => fc.tuple(distinctTensorArb(s), distinctTensorArb(s, { offset: 0.5, margin: 0.002 }))),
        ([x, t]) => {
          for (const f of [
            (v: { [n: string]: Value }) => crossEntropy(v.x, v.t, { label_smoothing: 0.1 }),
            (v: { [n: string]: Value }) => mseLoss(v.x, v.t, { reduction: "sum" }),
            (v: { [n: string]: Value }) => binaryCrossEntropyWithLogits(v.x, v.t, { reduction: "none" }),
          ]) {
            expect(checkOpLaws(f, { x, t }).violations).toEqual([])
          }
        },
      ),
      { numRuns: 15 },
    )
  })
})

describeGoldenFiles(["losses.json"])
