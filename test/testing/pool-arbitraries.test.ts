// The pooling arbitraries: every generated configuration is valid (the library infers the
// shape derived independently here), inputs are tie-free or tie-heavy as promised, the
// gradient checks pass on them, and failures shrink to a minimal problem.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, maxPool1d, tensor } from "../../src/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { checkTieAwareGradients } from "../../src/research/tie-check.ts"
import { hasEmptyWindow, poolCaseArb, poolInputArb, poolProblemArb, referencePoolLength, type PoolKind } from "../../src/testing/pool-arbitraries.ts"

const KINDS: readonly PoolKind[] = ["max", "avg", "lp", "adaptive_max", "adaptive_avg", "unpool"]
const DIMS = [1, 2, 3] as const

describe("poolCaseArb", () => {
  for (const kind of KINDS) {
    it(`${kind}: 1-3d configurations are accepted and the library infers the independently derived shape`, () => {
      for (const dims of DIMS) {
        fc.assert(
          fc.property(poolCaseArb(kind, dims), (c) => {
            const b = new GraphBuilder({ dtype: "float64" })
            const y = c.apply(b.input("x", c.inputShape))
            expect(y.shape).toEqual(c.expectedShape)
            expect(c.expectedShape.every((d) => d >= 1)).toBe(true)
          }),
          { numRuns: 40 },
        )
      }
    })
  }

  it("covers the ceil_mode last-window rule (some configurations drop a window)", () => {
    const drops = fc.sample(poolCaseArb("max", 1, { maxStride: 3 }), 400).filter((c) => {
      const a = c.attrs as { kernel_size: number[]; stride: number[]; padding: number[]; dilation: number[]; ceil_mode: boolean }
      if (!a.ceil_mode) return false
      const [L, k, s, p, d] = [c.inputShape[2], a.kernel_size[0], a.stride[0], a.padding[0], a.dilation[0]]
      return Math.ceil((L + 2 * p - d * (k - 1) - 1) / s) + 1 !== referencePoolLength(L, k, s, p, d, true)
    })
    expect(drops.length).toBeGreaterThan(0)
  })

  it("excludes dilated windows wholly in padding unless asked (PyTorch outputs -inf there)", () => {
    expect(hasEmptyWindow(1, 2, 1, 1, 2, false)).toBe(true) // positions -1 and 1 around L = 1
    expect(hasEmptyWindow(3, 2, 1, 1, 2, false)).toBe(false)
    const b = new GraphBuilder({ dtype: "float64" })
    const y = maxPool1d(b.input("x", [1, 1, 1]), { kernel_size: 2, stride: 1, padding: 1, dilation: 2 })
    expect([...compile(b.graph, [y]).run({ x: tensor([5], [1, 1, 1], "float64") })[0].data]).toEqual([-Infinity])
    const withEmpty = fc.sample(poolCaseArb("max", 1, { allowEmptyWindows: true, maxExtra: 0 }), 300)
    expect(withEmpty.some((c) => { const a = c.attrs as { kernel_size: number[]; stride: number[]; padding: number[]; dilation: number[]; ceil_mode: boolean }; return hasEmptyWindow(c.inputShape[2], a.kernel_size[0], a.stride[0], a.padding[0], a.dilation[0], a.ceil_mode) })).toBe(true)
  })

  it("shrinks to the minimal problem: batch 1, one channel, kernel 1", () => {
    const r = fc.check(fc.property(poolCaseArb("max", 2), (c) => c.inputShape.length < 0), { seed: 3 })
    const [c] = r.counterexample!
    expect(c.inputShape).toEqual([1, 1, 1, 1])
    expect(c.attrs.kernel_size).toEqual([1, 1])
  })
})

describe("poolInputArb", () => {
  it("tie-free values are pairwise at least the margin apart; tie-heavy ones are small integers", () => {
    fc.assert(
      fc.property(poolInputArb([2, 3, 4], "tie-free", { margin: 0.01 }), (t) => {
        const s = [...t.data].sort((a, b) => a - b)
        for (let i = 1; i < s.length; i++) expect(s[i] - s[i - 1]).toBeGreaterThanOrEqual(0.01 - 1e-12)
      }),
      { numRuns: 50 },
    )
    const heavy = fc.sample(poolInputArb([1, 1, 8], "tie-heavy"), 50)
    expect(heavy.every((t) => [...t.data].every((v) => Number.isInteger(v) && Math.abs(v) <= 2))).toBe(true)
    expect(heavy.some((t) => new Set(t.data).size < 8)).toBe(true)
  })
})

describe("gradients over the arbitraries", () => {
  for (const kind of KINDS) {
    it(`${kind}: central differences pass on tie-free inputs (1-d and 2-d)`, () => {
      for (const dims of [1, 2] as const) {
        fc.assert(
          fc.property(poolProblemArb(kind, dims, "tie-free", { maxBatch: 1, maxChannels: 2 }), ({ config, x }) => {
            const r = checkGradients(({ x }) => config.apply(x), { x }, { rtol: 1e-5, atol: 1e-7 })
            expect(r.ok, `${JSON.stringify(config.attrs)} ${config.inputShape}\n${r.summary}`).toBe(true)
          }),
          { numRuns: 12 },
        )
      }
    })
  }

  for (const tie of ["first", "last", "split"] as const) {
    it(`max and adaptive max, tie "${tie}": the tie-aware check passes on tie-heavy inputs (1-3d)`, () => {
      for (const kind of ["max", "adaptive_max"] as const) {
        for (const dims of DIMS) {
          fc.assert(
            fc.property(poolProblemArb(kind, dims, "tie-heavy", { tie, maxBatch: 1, maxChannels: 1, maxExtra: 2 }), ({ config, x }) => {
              const r = checkTieAwareGradients(({ x }) => config.apply(x), { x }, { rules: tie === "split" ? ["clarke", "directional"] : ["clarke", "directional", "nudge"] })
              expect(r.ok, `${JSON.stringify(config.attrs)} ${config.inputShape} x=${[...x.data]}\n${r.summary}`).toBe(true)
            }),
            { numRuns: 10 },
          )
        }
      }
    })
  }
})
