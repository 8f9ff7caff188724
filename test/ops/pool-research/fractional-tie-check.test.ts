// The tie-aware checker on fractional_max_pool2d/3d, whose windows depend on the node's
// `samples` (or `seed`) input: over random geometries, samples and tie-heavy inputs,
// PyTorch's rule (first maximum) and custom ops declared with a fractional geometry that
// route by "last" or "split" pass every rule, and planted wrong gradients (too much
// upstream, routing that ignores the values, windows that ignore the samples) are rejected.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { tensor, type Tensor } from "../../../src/index.ts"
import type { Value } from "../../../src/graph/builder.ts"
import { defineOp } from "../../../src/graph/op.ts"
import { fractionalMaxPool2d, fractionalMaxPool3d, fractionalNodeWindowList } from "../../../src/ops/pool-research/fractional.ts"
import { checkTieAwareGradients } from "../../../src/research/tie-check.ts"

type Policy = "first" | "last" | "split"
type Bug = "none" | "scale" | "window-first" | "fixed-grid"
type TestAttrs = {
  kernel_size: number[]
  output_size: number[]
  tie: Policy
  bug: Bug
}

/** The elements a window's upstream goes to, and their shares, under a policy (or a planted bug). */
function route(x: ArrayLike<number>, m: Int32Array, a: TestAttrs): [number, number][] {
  if (a.bug === "window-first") return [[m[0], 1]] // ignores the values: wrong wherever m[0] is not a maximum
  if (a.bug === "fixed-grid") a = { ...a, tie: "first" }
  let max = -Infinity
  for (const i of m) max = Math.max(max, x[i])
  const tied = [...m].filter((i) => x[i] === max)
  const share = a.bug === "scale" ? 1.5 : 1 // hands out 1.5x the upstream
  if (a.tie === "split") return tied.map((i) => [i, share / tied.length])
  return [[a.tie === "first" ? tied[0] : tied[tied.length - 1], share]]
}

/** Samples of the same shape, all 0.5 (the op's default grid). */
const halves = (samples: Tensor): Tensor => tensor(new Array<number>(samples.data.length).fill(0.5), samples.shape, "float64")

function testOps(dims: 2 | 3) {
  const windows = (x: Tensor, samples: Tensor, a: TestAttrs) => fractionalNodeWindowList(dims, x, a, { samples })
  const backward = defineOp({
    name: `frac_policy_test${dims}d_backward`,
    doc: "test: routes each window's upstream by the attrs' policy",
    inputs: ["x", "samples", "gy"],
    outputs: ["gx"],
    attrs: (raw: TestAttrs): TestAttrs => raw,
    infer: ({ x }) => ({ gx: x }),
    kernel: ({ inputs: { x, samples, gy }, outputs: { gx }, attrs }) =>
      // planted "fixed-grid": the backward ignores the node's samples (every sample 0.5)
      windows(x, attrs.bug === "fixed-grid" ? halves(samples) : samples, attrs).members.forEach((m, o) => {
        for (const [i, s] of route(x.data, m, attrs)) gx.data[i] += s * gy.data[o]
      }),
  })
  const forward = defineOp({
    name: `frac_policy_test${dims}d`,
    doc: "test: fractional max pooling with a declared tie policy",
    inputs: ["x", "samples"],
    outputs: ["y"],
    attrs: (raw: TestAttrs): TestAttrs => raw,
    infer: ({ x }, a) => ({ y: { shape: [...x.shape.slice(0, -dims), ...a.output_size], dtype: x.dtype } }),
    kernel: ({ inputs: { x, samples }, outputs: { y }, attrs }) =>
      windows(x, samples, attrs).members.forEach((m, o) => {
        let max = -Infinity
        for (const i of m) max = Math.max(max, x.data[i])
        y.data[o] = max
      }),
    grad: ({ inputs: { x, samples }, grads: { y: gy }, attrs, builder }) => ({ x: builder.apply(backward, { x, samples, gy: gy! }, attrs).gx }),
  })
  return forward
}
const TEST_OPS = { 2: testOps(2), 3: testOps(3) } as const

interface Problem {
  dims: 2 | 3
  x: Tensor
  samples: Tensor
  kernel_size: number[]
  output_size: number[]
}

/** A fractional geometry that fits (2-d: out + k - 1 <= in; 3-d: < in), samples in [0, 1), tie-heavy x. */
const problemArb: fc.Arbitrary<Problem> = fc.constantFrom<2 | 3>(2, 3).chain((dims) =>
  fc
    .record({
      channels: fc.integer({ min: 1, max: 2 }),
      axes: fc.array(fc.record({ k: fc.integer({ min: 1, max: dims === 2 ? 3 : 2 }), out: fc.integer({ min: 1, max: dims === 2 ? 3 : 2 }), extra: fc.integer({ min: 0, max: 2 }) }), { minLength: dims, maxLength: dims }),
    })
    .chain(({ channels, axes }) => {
      const spatial = axes.map((a) => a.out + a.k - 1 + a.extra + (dims === 3 ? 1 : 0))
      const shape = [1, channels, ...spatial]
      const n = shape.reduce((p, q) => p * q, 1)
      return fc.record({
        x: fc.array(fc.integer({ min: -2, max: 2 }), { minLength: n, maxLength: n }),
        u: fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: channels * dims, maxLength: channels * dims }),
      }).map(({ x, u }) => ({
        dims,
        x: tensor(x, shape, "float64"),
        samples: tensor(u, [1, channels, dims], "float64"),
        kernel_size: axes.map((a) => a.k),
        output_size: axes.map((a) => a.out),
      }))
    }),
)

function checkPolicyOp(p: Problem, tie: Policy, bug: Bug) {
  const attrs: TestAttrs = { kernel_size: p.kernel_size, output_size: p.output_size, tie, bug }
  const op = TEST_OPS[p.dims]
  return checkTieAwareGradients(({ x, samples }, b) => b.apply(op, { x, samples }, attrs).y, { x: p.x, samples: p.samples }, {
    wrt: ["x"],
    treatAs: { [op.name]: `fractional_max_pool${p.dims}d` },
  })
}

const runs = { numRuns: 40 }

describe("tie-aware checker on fractional max pooling", () => {
  it("the built-in op (first maximum, PyTorch) passes every rule, with samples or a seed; its ties are found", () => {
    let tiedSites = 0
    fc.assert(
      fc.property(problemArb, fc.boolean(), fc.integer({ min: 0, max: 1 << 30 }), (p, useSeed, seed) => {
        const pool = (x: Value, random: { samples?: Value; seed?: Value }): Value =>
          (p.dims === 2 ? fractionalMaxPool2d : fractionalMaxPool3d)(x, { kernel_size: p.kernel_size, output_size: p.output_size }, random).y
        const r = useSeed
          ? checkTieAwareGradients(({ x, seed: s }) => pool(x, { seed: s }), { x: p.x, seed: tensor([seed], [], "int32") })
          : checkTieAwareGradients(({ x, samples }) => pool(x, { samples }), { x: p.x, samples: p.samples }, { wrt: ["x"] })
        expect(r.ok, r.summary).toBe(true)
        tiedSites += r.sites.filter((s) => s.kind === "max_pool").length
      }),
      runs,
    )
    expect(tiedSites).toBeGreaterThan(0) // tie-heavy inputs do tie: the rules ran at ties
  })

  for (const tie of ["first", "last", "split"] as const) {
    it(`a custom op declared fractional with tie "${tie}" is never rejected`, () => {
      fc.assert(
        fc.property(problemArb, (p) => {
          const r = checkPolicyOp(p, tie, "none")
          expect(r.ok, r.summary).toBe(true)
        }),
        runs,
      )
    })
  }

  it("a planted wrong gradient (1.5x the upstream) is always caught, by clarke", () => {
    fc.assert(
      fc.property(problemArb, fc.constantFrom<Policy>("first", "last", "split"), (p, tie) => {
        const r = checkPolicyOp(p, tie, "scale")
        expect(r.ok).toBe(false)
        expect(r.rules.find((x) => x.rule === "clarke")!.ok).toBe(false)
      }),
      runs,
    )
  })

  it("a gradient routed to each window's first member (ignoring the values) is caught exactly when that member is not a maximum", () => {
    let caught = 0
    fc.assert(
      fc.property(problemArb, (p) => {
        const w = fractionalNodeWindowList(p.dims, p.x, { kernel_size: p.kernel_size, output_size: p.output_size }, { samples: p.samples })
        const wrong = w.members.some((m) => [...m].some((i) => p.x.data[i] > p.x.data[m[0]]))
        const r = checkPolicyOp(p, "first", "window-first")
        expect(r.ok, r.summary).toBe(!wrong)
        if (wrong) caught++
      }),
      runs,
    )
    expect(caught).toBeGreaterThan(0)
  })

  it("a gradient that places the windows with samples 0.5 instead of the node's samples is caught exactly when that changes the routing", () => {
    let caught = 0
    fc.assert(
      fc.property(problemArb, (p) => {
        const a = { kernel_size: p.kernel_size, output_size: p.output_size }
        const firstMax = (m: Int32Array) => [...m].reduce((best, i) => (p.x.data[i] > p.x.data[best] ? i : best), m[0])
        const right = fractionalNodeWindowList(p.dims, p.x, a, { samples: p.samples }).members.map(firstMax)
        const grid = fractionalNodeWindowList(p.dims, p.x, a, { samples: halves(p.samples) }).members.map(firstMax)
        const differs = right.some((i, o) => i !== grid[o])
        const r = checkPolicyOp(p, "first", "fixed-grid")
        expect(r.ok, r.summary).toBe(!differs)
        if (differs) caught++
      }),
      runs,
    )
    expect(caught).toBeGreaterThan(0)
  })
})
