import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, elu, exp, pointwiseOp, gelu, gradValues, leakyRelu, log, logSoftmax, mul, sigmoid, silu, softmax, softplus, sum, tanh, tensor, type Tensor, type Value } from "../../src/index.ts"
import { erf } from "../../src/kernels/pointwise/erf.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { checkOpLaws, distinctTensorArb, shapeArb } from "../../src/testing/index.ts"
import { Random } from "../../src/tensor/random.ts"
import { describeGoldenFiles } from "../helpers.ts"

/** Forward value and d sum(y * u)/dx (u = ones unless given) of a one-input function, in float64. */
function evalWithGrad(f: (x: Value) => Value, xs: readonly number[], shape: readonly number[] = [xs.length], u?: readonly number[]): { y: number[]; gx: number[] } {
  const b = new GraphBuilder({ dtype: "float64" })
  const x = b.input("x", shape)
  const up = b.input("u", shape)
  const y = f(x)
  const [gx] = gradValues(b, sum(mul(y, up)), [x])
  const ones = u ?? xs.map(() => 1)
  const [yt, gt] = compile(b.graph, [y, gx]).run({ x: tensor(xs, shape, "float64"), u: tensor(ones, shape, "float64") })
  return { y: Array.from(yt.data), gx: Array.from(gt.data) }
}

/** Values in (-range, range) at least `gap` away from 0 (finite differences must not straddle a kink). */
function awayFromZero(n: number, seed: number, range = 3, gap = 0.05): Tensor {
  const rng = new Random(seed)
  const v = Array.from({ length: n }, () => {
    const m = rng.uniform(gap, range)
    return rng.next() < 0.5 ? -m : m
  })
  return tensor(v, [n], "float64")
}

/** FD check of the first gradient and of the gradient of the gradient (double backward). */
function checkTwice(f: (x: Value) => Value, x: Tensor): void {
  const first = checkGradients(({ x: v }) => f(v), { x })
  expect(first.ok, first.summary).toBe(true)
  const rng = new Random(7)
  const u = tensor(Array.from({ length: x.data.length }, () => rng.uniform(-1, 1)), x.shape, "float64")
  const second = checkGradients(
    ({ x: v, u: up }, b) => {
      const [g] = gradValues(b, sum(mul(f(v), up)), [v])
      return g
    },
    { x, u },
    { wrt: ["x", "u"] },
  )
  expect(second.ok, second.summary).toBe(true)
}

describe("erf", () => {
  it("matches reference values to an ulp", () => {
    // reference values: Python math.erf (glibc)
    const cases: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1.5, -0.9661051464753108],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [-5, -0.9999999999984626],
      [6.5, 1],
    ]
    for (const [x, want] of cases) expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(2.3e-16 * Math.max(1e-300, Math.abs(want)))
    expect(erf(Infinity)).toBe(1)
    expect(erf(-Infinity)).toBe(-1)
    expect(erf(NaN)).toBeNaN()
    expect(erf(1e-300)).toBeCloseTo(1.1283791670955126e-300, 310)
  })
})

describe("activations: hand-worked values and kink conventions", () => {
  it("leaky_relu: slope below 0, gradient = slope at 0, -0 and NaN", () => {
    const { y, gx } = evalWithGrad((x) => leakyRelu(x, 0.2), [2, -3, 0, -0, NaN])
    expect(y.slice(0, 4)).toEqual([2, -0.6000000000000001, 0, -0])
    expect(y[4]).toBeNaN()
    expect(gx).toEqual([1, 0.2, 0.2, 0.2, 0.2])
  })

  it("elu: alpha (e^x - 1) below 0, gradient alpha at 0", () => {
    const { y, gx } = evalWithGrad((x) => elu(x, 0.5), [1.5, -1, 0])
    expect(y[0]).toBe(1.5)
    expect(y[1]).toBeCloseTo(0.5 * (Math.exp(-1) - 1), 15)
    expect(y[2]).toBe(0)
    expect(gx[0]).toBe(1)
    expect(gx[1]).toBeCloseTo(0.5 * Math.exp(-1), 15)
    expect(gx[2]).toBe(0.5)
  })

  it("gelu: x Phi(x), gradient 0.5 at 0 for both forms", () => {
    const exact = evalWithGrad((x) => gelu(x), [0, 1, -1])
    expect(exact.y[1]).toBeCloseTo(0.8413447460685429, 15)
    expect(exact.y[2]).toBeCloseTo(-0.15865525393145707, 15)
    expect(exact.gx[0]).toBe(0.5)
    // d/dx x Phi(x) at 1 = Phi(1) + phi(1)
    expect(exact.gx[1]).toBeCloseTo(0.8413447460685429 + Math.exp(-0.5) / Math.sqrt(2 * Math.PI), 14)
    const approx = evalWithGrad((x) => gelu(x, "tanh"), [0, 1])
    expect(approx.gx[0]).toBe(0.5)
    expect(approx.y[1]).toBeCloseTo(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)), 15)
  })

  it("softplus: linear strictly above the threshold, sigmoid gradient at and below it", () => {
    // beta = 2, threshold = 4: beta x = 4 at x = 2 is NOT above the threshold
    const { y, gx } = evalWithGrad((x) => softplus(x, 2, 4), [2, 2.5, 0, -1])
    expect(y[0]).toBeCloseTo(Math.log1p(Math.exp(4)) / 2, 15)
    expect(y[1]).toBe(2.5)
    expect(y[2]).toBeCloseTo(Math.log(2) / 2, 15)
    expect(gx[0]).toBeCloseTo(1 / (1 + Math.exp(-4)), 15)
    expect(gx[1]).toBe(1)
    expect(gx[2]).toBe(0.5)
    expect(gx[3]).toBeCloseTo(1 / (1 + Math.exp(2)), 15)
  })

  it("extreme inputs stay finite where PyTorch's are", () => {
    const xs = [1000, -1000, 709, -709, 1e-300, -1e-300, 800, -800]
    const lr = evalWithGrad((x) => leakyRelu(x), xs)
    const want = [1000, -10, 709, -7.09, 1e-300, -1e-302, 800, -8]
    lr.y.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-15 * Math.abs(want[i])))
    const e = evalWithGrad((x) => elu(x), xs)
    expect(e.y[1]).toBe(-1)
    expect(e.y[5]).toBe(-1e-300)
    expect(e.gx[1]).toBe(0)
    const gExact = evalWithGrad((x) => gelu(x), xs)
    const gTanh = evalWithGrad((x) => gelu(x, "tanh"), xs)
    const sp = evalWithGrad((x) => softplus(x), xs)
    const spHigh = evalWithGrad((x) => softplus(x, 1, 1000), [709, -1000, 1e-300])
    for (const r of [lr, e, gExact, gTanh, sp, spHigh]) {
      for (const v of [...r.y, ...r.gx]) expect(Number.isFinite(v)).toBe(true)
    }
    expect(gExact.y.slice(0, 2)).toEqual([1000, -0])
    expect(gExact.gx.slice(0, 2).map((v) => Math.abs(v))).toEqual([1, 0])
    expect(gTanh.y.slice(0, 2)).toEqual([1000, -0])
    expect(sp.y.slice(0, 3)).toEqual([1000, 0, 709])
    expect(sp.gx.slice(0, 2)).toEqual([1, 0])
    expect(spHigh.y[0]).toBeCloseTo(709, 12)
    expect(spHigh.gx[0]).toBe(1)
    expect(spHigh.y[2]).toBeCloseTo(Math.LN2, 15)
  })

  it("NaN propagates through the forward pass", () => {
    for (const f of [(x: Value) => leakyRelu(x), (x: Value) => elu(x), (x: Value) => gelu(x), (x: Value) => gelu(x, "tanh"), (x: Value) => softplus(x)]) {
      expect(evalWithGrad(f, [NaN]).y[0]).toBeNaN()
    }
  })

  it("runs in float32", () => {
    const b = new GraphBuilder({ dtype: "float32" })
    const x = b.input("x", [4])
    const ys = [leakyRelu(x), elu(x), gelu(x), gelu(x, "tanh"), softplus(x)]
    const out = compile(b.graph, ys).run({ x: tensor([-1, 0, 0.5, 30], [4], "float32") })
    expect(out.every((t) => t.dtype === "float32")).toBe(true)
    expect(out[0].data[0]).toBeCloseTo(-0.01, 6)
    expect(out[4].data[3]).toBe(30)
  })
})

describe("activations: gradients against finite differences (float64)", () => {
  const x = awayFromZero(24, 1)
  it("leaky_relu", () => checkTwice((v) => leakyRelu(v, 0.1), x))
  it("elu", () => checkTwice((v) => elu(v, 0.7), x))
  it("gelu (none)", () => checkTwice((v) => gelu(v), x))
  it("gelu (tanh)", () => checkTwice((v) => gelu(v, "tanh"), x))
  it("softplus (both sides of the threshold)", () => checkTwice((v) => softplus(v, 2, 3), awayFromZero(24, 2, 3, 0.05)))
})

describe("softmax / log_softmax", () => {
  it("hand-worked slice, any dim, negative dims", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [2, 3])
    const fetches = [softmax(x, -1), softmax(x, 0), logSoftmax(x, 1)]
    const [s1, s0, ls] = compile(b.graph, fetches).run({ x: tensor([0, Math.log(2), Math.log(5), 1, 1, 1], [2, 3], "float64") })
    expect(Array.from(s1.data).map((v) => +v.toFixed(14))).toEqual([0.125, 0.25, 0.625, 1 / 3, 1 / 3, 1 / 3].map((v) => +v.toFixed(14)))
    expect(s0.data[0]).toBeCloseTo(1 / (1 + Math.E), 15)
    expect(ls.data[2]).toBeCloseTo(Math.log(0.625), 15)
    expect(() => softmax(x, 2)).toThrow(/dim 2 out of range/)
  })

  it("is stable for huge values and handles -inf entries", () => {
    const xs = [1000, 0, -1000, 709, -Infinity, 3]
    const s = evalWithGrad((x) => softmax(x, 0), xs, [6], [1, 2, 3, 4, 5, 6])
    expect(s.y[0]).toBe(1)
    expect(s.y[4]).toBe(0)
    expect(s.gx[4]).toBe(0)
    for (const v of [...s.y, ...s.gx]) expect(Number.isFinite(v)).toBe(true)
    const l = evalWithGrad((x) => logSoftmax(x, 0), xs, [6], [1, 2, 3, 4, 5, 6])
    expect(l.y[0]).toBe(0)
    expect(l.y[2]).toBe(-2000)
    expect(l.y[4]).toBe(-Infinity)
    // grad = g - softmax * sum(g): the -inf entry keeps its upstream value
    expect(l.gx[4]).toBe(5)
    expect(l.gx[0]).toBeCloseTo(1 - 21, 12)
  })

  const x = tensor(awayFromZero(24, 3).data, [2, 3, 4], "float64")
  it("softmax gradient and double backward (dim 1 of [2, 3, 4])", () => checkTwice((v) => softmax(v, 1), x))
  it("log_softmax gradient and double backward (dim -1)", () => checkTwice((v) => logSoftmax(v, -1), x))
  // every rule of the pointwise table with a second derivative (d2): gradient and double backward by FD
  for (const [name, f] of [["exp", exp], ["log", (v: Value) => log(mul(v, v))], ["tanh", tanh], ["sigmoid", sigmoid], ["elu", (v: Value) => elu(v, 0.7)], ["gelu", (v: Value) => gelu(v)], ["gelu tanh", (v: Value) => gelu(v, "tanh")], ["softplus", (v: Value) => softplus(v, 1.5)], ["silu", silu]] as const) {
    it(`${name} gradient and double backward`, () => checkTwice(f, x))
  }
})

describe("silu (x * sigmoid(x), PyTorch's F.silu)", () => {
  it("hand-worked values and gradients", () => {
    const { y, gx } = evalWithGrad((v) => silu(v), [0, 1, -2])
    // silu(0) = 0, silu'(0) = s(0) (1 + 0) = 0.5
    expect(y[0]).toBe(0)
    expect(gx[0]).toBe(0.5)
    // silu(1) = 1 / (1 + e^-1); silu'(1) = s (1 + (1 - s)) with s = 1 / (1 + e^-1)
    const s1 = 1 / (1 + Math.exp(-1))
    expect(y[1]).toBeCloseTo(s1, 15)
    expect(gx[1]).toBeCloseTo(s1 * (2 - s1), 15)
    const s2 = 1 / (1 + Math.exp(2))
    expect(y[2]).toBeCloseTo(-2 * s2, 15)
    expect(gx[2]).toBeCloseTo(s2 * (1 - 2 * (1 - s2)), 15)
  })
})

describe("op laws (shape, determinism, inputs untouched, FD gradient) on random shapes", () => {
  const unary: [string, (x: Value) => Value][] = [
    ["leaky_relu", (x) => leakyRelu(x, 0.3)],
    ["elu", (x) => elu(x, 1.3)],
    ["gelu", (x) => gelu(x)],
    ["gelu tanh", (x) => gelu(x, "tanh")],
    ["softplus", (x) => softplus(x, 1.5, 2)],
  ]
  for (const [name, f] of unary) {
    it(name, () => {
      // distinct values on a 0.01 grid offset by 0.005: never at a kink (0, or beta x = threshold)
      fc.assert(
        fc.property(
          shapeArb({ maxRank: 3 }).chain((s) => distinctTensorArb(s, { offset: 0.005 })),
          (x) => {
            expect(checkOpLaws(({ x }) => f(x), { x }).violations).toEqual([])
          },
        ),
        { numRuns: 15 },
      )
    })
  }
  it("softmax and log_softmax over a random dim", () => {
    fc.assert(
      fc.property(
        shapeArb({ maxRank: 4, maxDim: 3 }).chain((s) => fc.tuple(distinctTensorArb(s), fc.integer({ min: -s.length, max: s.length - 1 }), fc.boolean())),
        ([x, dim, log]) => {
          expect(checkOpLaws(({ x }) => (log ? logSoftmax(x, dim) : softmax(x, dim)), { x }).violations).toEqual([])
        },
      ),
      { numRuns: 20 },
    )
  })
})

describeGoldenFiles(["activations.json", "softmax.json"])

describe("pointwiseOp rules", () => {
  it("double backward through a rule without d2 is a GraphError naming the op, not a silent zero", () => {
    const softsign = pointwiseOp({
      name: "softsign_no_d2_test",
      doc: "x / (1 + |x|)",
      saves: "x",
      f: (v) => v / (1 + Math.abs(v)),
      df: (g, v) => g / ((1 + Math.abs(v)) * (1 + Math.abs(v))),
    })
    const g = new GraphBuilder({ dtype: "float64" })
    const v = g.input("x", [3])
    const [gx] = gradValues(g, sum(softsign.apply(v)), [v])
    // first order works: d/dx softsign at 0 is 1
    const [d] = compile(g.graph, [gx]).run({ x: tensor([0, 1, -2], [3], "float64") })
    expect(d.data[0]).toBe(1)
    expect(d.data[1]).toBe(0.25)
    expect(() => gradValues(g, sum(gx), [v])).toThrow(/softsign_no_d2_test_backward has no second derivative/)
  })
})
