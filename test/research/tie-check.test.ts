// The tie-aware checker on the classic failing cases of plain central differences, and on
// a planted max pool whose gradient routes tied windows to a non-maximal element.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { scatterAddPlanes } from "../../src/ops/pool/index.ts"
import { defineOp, globalMaxPool, maxPool1d, maxPool2d, relu, tensor, type Tensor, type Value } from "../../src/index.ts"
import { maxPoolAttrs, type MaxPoolAttrs, type MaxPoolOptions } from "../../src/ops/pool/max.ts"
import { maxPoolWindowList } from "../../src/research/windows.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { checkTieAwareGradients } from "../../src/research/tie-check.ts"
import { phaseOne } from "../../src/research/feasibility.ts"
import { poolProblemArb } from "../../src/testing/pool-arbitraries.ts"

const t64 = (v: readonly number[], shape: readonly number[]): Tensor => tensor(v, shape, "float64")
const CLASSIC = { kernel_size: 2, stride: 2, padding: 1, ceil_mode: true } as const

/**
 * A planted WRONG max pool (1-d): the forward is right, but in a window with tied maxima
 * the gradient goes to the window's smallest element (a non-maximum) instead of a maximum.
 * Away from ties it is exactly right, so central differences on tie-free inputs pass it.
 */
function plantedPool(name: string): { apply: (x: Value, a: MaxPoolOptions) => Value } {
  const pick = (x: ArrayLike<number>, shape: readonly number[], a: MaxPoolAttrs, wantMax: boolean): { y: number[]; idx: number[] } => {
    const w = maxPoolWindowList("max_pool1d", a, shape)
    const y: number[] = []
    const idx: number[] = []
    for (const m of w.members) {
      let best = m[0]
      let worst = m[0]
      for (const i of m) {
        if (x[i] > x[best]) best = i
        if (x[i] < x[worst]) worst = i
      }
      const tied = [...m].filter((i) => x[i] === x[best]).length > 1
      y.push(x[best])
      idx.push((wantMax || !tied ? best : worst) % w.inPlane)
    }
    return { y, idx }
  }
  const routeOp = defineOp({
    name: `${name}_route`,
    inputs: ["x"],
    outputs: ["indices"],
    attrs: (raw: MaxPoolOptions): MaxPoolAttrs => maxPoolAttrs(raw, 1),
    infer: ({ x }, a) => ({ indices: { shape: [...x.shape.slice(0, -1), maxPoolWindowList("max_pool1d", a, x.shape).outPlane], dtype: "int32" } }),
    kernel: ({ inputs: { x }, outputs: { indices }, attrs }) => indices.data.set(pick(x.data, x.shape, attrs, false).idx),
  })
  const poolOp = defineOp({
    name,
    inputs: ["x"],
    outputs: ["y"],
    attrs: (raw: MaxPoolOptions): MaxPoolAttrs => maxPoolAttrs(raw, 1),
    infer: ({ x }, a) => ({ y: { shape: [...x.shape.slice(0, -1), maxPoolWindowList("max_pool1d", a, x.shape).outPlane], dtype: x.dtype } }),
    kernel: ({ inputs: { x }, outputs: { y }, attrs }) => y.data.set(pick(x.data, x.shape, attrs, true).y),
    grad: ({ inputs: { x }, grads: { y: gy }, attrs, builder }) => ({
      x: scatterAddPlanes(gy!, builder.apply(routeOp, { x }, attrs).indices, x.shape.slice(-1)),
    }),
  })
  return { apply: (x, a) => x.builder.apply(poolOp, { x }, a).y }
}

describe("checkTieAwareGradients: the classic cases", () => {
  it("max_pool1d(k=2, s=2, p=1, ceil_mode=True) on a tied input: plain FD fails, the tie-aware check passes", () => {
    const x = t64([2, 3, 3, 1, 1], [1, 1, 5]) // windows {0}, {1, 2}, {3, 4}: two tied windows
    const fn = ({ x }: { readonly [k: string]: Value }) => maxPool1d(x, CLASSIC)
    expect(checkGradients(fn, { x }).ok).toBe(false)
    const r = checkTieAwareGradients(fn, { x })
    expect(r.plain.ok).toBe(false)
    expect(r.ok, r.summary).toBe(true)
    expect(r.sites.map((s) => [s.kind, s.window, s.elements])).toEqual([
      ["max_pool", 1, [1, 2]],
      ["max_pool", 2, [3, 4]],
    ])
    expect(r.rules.map((x) => x.rule)).toEqual(["clarke", "directional", "nudge"])
    expect(r.rules[0].applied[0]).toContain("vertex(first)")
  })

  it("global max pooling of an all-zero input: plain FD gives 1/4 each, the vertex e_0 passes", () => {
    const x = t64([0, 0, 0, 0], [1, 1, 2, 2])
    const fn = ({ x }: { readonly [k: string]: Value }) => globalMaxPool(x)
    expect(checkGradients(fn, { x }).ok).toBe(false)
    const r = checkTieAwareGradients(fn, { x })
    expect(r.ok, r.summary).toBe(true)
    expect(r.plain.ok).toBe(false)
    expect(r.sites).toHaveLength(1)
    expect(r.sites[0].elements).toEqual([0, 1, 2, 3])
  })

  it("accepts every valid policy: last (vertex), split (convex combination); flags all (not a subgradient)", () => {
    const x = t64([2, 3, 3, 1, 1], [1, 1, 5])
    for (const tie of ["last", "split"] as const) {
      const r = checkTieAwareGradients(({ x }) => maxPool1d(x, { ...CLASSIC, tie }), { x })
      expect(r.ok, r.summary).toBe(true)
    }
    const all = checkTieAwareGradients(({ x }) => maxPool1d(x, { ...CLASSIC, tie: "all" }), { x }, { rules: ["clarke"] })
    expect(all.ok).toBe(false)
    expect(all.rules[0].failures[0]).toContain("not a sum of non-negative shares")
  })

  it("overlapping tied windows (k=3, s=1) under split go through the feasibility LP", () => {
    const x = t64([1, 1, 1, 1, 0, 1, 1], [1, 1, 7])
    const r = checkTieAwareGradients(({ x }) => maxPool1d(x, { kernel_size: 3, stride: 1, tie: "split" }), { x }, { rules: ["clarke", "directional"] })
    expect(r.ok, r.summary).toBe(true)
    const first = checkTieAwareGradients(({ x }) => maxPool1d(x, { kernel_size: 3, stride: 1 }), { x })
    expect(first.ok, first.summary).toBe(true)
  })

  it("ReLU at exactly 0 before a 2x2 max pool: the kink and the ties are both found and pass", () => {
    const x = t64([0, -1, 0, 2, 0.5, 0.5, -3, 0], [1, 1, 2, 4])
    const fn = ({ x }: { readonly [k: string]: Value }) => maxPool2d(relu(x), { kernel_size: 2 })
    const r = checkTieAwareGradients(fn, { x }, { rules: ["clarke", "directional"] })
    expect(r.ok, r.summary).toBe(true)
    // The pool's tie (0.5, 0.5) sits on relu's output, not on a graph input: nudge says so.
    const n = checkTieAwareGradients(fn, { x }, { rules: ["nudge"] })
    expect(n.rules[0].applied.join("; ")).toContain("reads an intermediate value; not nudged")
    expect(r.sites.some((s) => s.kind === "relu")).toBe(true)
    expect(r.sites.some((s) => s.kind === "max_pool")).toBe(true)
  })

  it("ReLU at 0 on a graph input: plain FD gives 1/2, the convention relu'(0) = 0 passes every rule", () => {
    const x = t64([-1, 0, 2, 0], [4])
    const r = checkTieAwareGradients(({ x }) => relu(x), { x })
    expect(r.plain.ok).toBe(false)
    expect(r.ok, r.summary).toBe(true)
    expect(r.sites).toMatchObject([{ kind: "relu", elements: [1, 3] }])
    expect(r.rules[2].applied[0]).toContain("moved to the side of the op's convention")
  })

  it("lists NaN inputs as non-finite sites", () => {
    const x = t64([1, NaN, 2, 3], [1, 1, 4])
    const r = checkTieAwareGradients(({ x }) => maxPool1d(x, { kernel_size: 2 }), { x }, { rules: ["clarke"] })
    expect(r.sites[0]).toMatchObject({ kind: "non_finite", elements: [1] })
    expect(r.ok, r.summary).toBe(true)
  })
})

describe("checkTieAwareGradients: a planted wrong routing is caught", () => {
  const wrong = plantedPool("wrong_tie_pool1d")
  // k = 3 so a tied window also holds a non-maximum: windows {0, 1}, {1, 2, 3}, {3, 4, 5}, {5, 6}
  const attrs = { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true } as const
  const fn = ({ x }: { readonly [k: string]: Value }) => wrong.apply(x, attrs)

  it("passes plain FD away from ties (so FD on tie-free data cannot see the bug)", () => {
    expect(checkGradients(fn, { x: t64([0.3, 1.2, -0.4, 2.5, 0.9, 1.7, -1.1], [1, 1, 7]) }).ok).toBe(true)
    expect(checkTieAwareGradients(fn, { x: t64([0.3, 1.2, -0.4, 2.5, 0.9, 1.7, -1.1], [1, 1, 7]) }, { treatAs: { wrong_tie_pool1d: "max_pool1d" } }).ok).toBe(true)
  })

  it("FAILS every tie-aware rule at a tie", () => {
    const x = t64([0, 2, 2, 1, 3, 3, 0], [1, 1, 7]) // {1, 2, 3} = [2, 2, 1] and {3, 4, 5} = [1, 3, 3] are tied
    const r = checkTieAwareGradients(fn, { x }, { treatAs: { wrong_tie_pool1d: "max_pool1d" } })
    expect(r.ok).toBe(false)
    for (const rule of r.rules) expect(rule.ok, `${rule.rule}\n${r.summary}`).toBe(false)
    expect(r.rules[0].failures.join("\n")).toContain("wrong_tie_pool1d")
  })

  it("a split-policy declaration does not excuse it either: the LP finds no convex combination", () => {
    const x = t64([1, 1, 1, 0, 0, 1], [1, 1, 6])
    const r = checkTieAwareGradients(({ x }) => wrong.apply(x, { kernel_size: 3, stride: 1, tie: "split" }), { x }, {
      treatAs: { wrong_tie_pool1d: "max_pool1d" },
      rules: ["clarke"],
    })
    expect(r.ok).toBe(false)
  })
})

describe("over the arbitraries", () => {
  it("the planted routing fails exactly when some window has a tie beside a non-maximum, else passes", () => {
    const wrong = plantedPool("wrong_tie_pool1d_prop")
    fc.assert(
      fc.property(poolProblemArb("max", 1, "tie-heavy", { maxKernel: 4, maxDilation: 1, maxBatch: 1, maxChannels: 1 }), ({ config, x }) => {
        const attrs = config.attrs as unknown as MaxPoolOptions
        const windows = maxPoolWindowList("max_pool1d", attrs, x.shape).members
        const exposed = windows.some((m) => {
          const v = [...m].map((i) => x.data[i])
          const max = Math.max(...v)
          return v.filter((e) => e === max).length > 1 && v.some((e) => e < max)
        })
        const r = checkTieAwareGradients(({ x }) => wrong.apply(x, attrs), { x }, { treatAs: { wrong_tie_pool1d_prop: "max_pool1d" }, rules: ["clarke"] })
        expect(r.ok, `${JSON.stringify(attrs)} x=${[...x.data]}\n${r.summary}`).toBe(!exposed)
      }),
      { numRuns: 60 },
    )
  })
})

describe("phaseOne", () => {
  it("finds feasible simplex points and rejects infeasible ones", () => {
    expect(phaseOne([[1, 1], [2, 0]], [1, 0.5]).infeasibility).toBeLessThan(1e-12)
    expect(phaseOne([[1, 1], [1, 1]], [1, 2]).infeasibility).toBeGreaterThan(0.5)
    expect(phaseOne([[1, 1]], [-1]).infeasibility).toBeGreaterThan(0.5) // λ >= 0 cannot sum to -1
  })
})
