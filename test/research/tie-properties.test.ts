// The tie-aware checker over the whole space of max-type pools: every op and dimension
// (max_pool1-3d with overlap, dilation, padding and ceil_mode; adaptive_max_pool1-3d) and
// every policy, on tie-heavy inputs (all-zero, 0/1 and small-integer planes). A valid
// policy (first, last, split, any convex combination a custom op picks) is never rejected,
// `all` is rejected exactly where a window ties, and a planted wrong gradient is caught
// exactly where it differs from every subgradient. fast-check shrinks failures.
// Size: DAGRAD_FUZZ_RUNS runs per case (default 6; `npm run fuzz -- --suite ties --runs 200` for a larger run).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { maxPool1d, maxPool2d, tensor, type Tensor } from "../../src/index.ts"
import type { Attrs } from "../../src/graph/types.ts"
import type { TiePolicy } from "../../src/ops/pool/geometry.ts"
import { checkTieAwareGradients } from "../../src/research/tie-check.ts"
import { maxPoolWindowList, tieSets, type MaxPoolKind } from "../../src/research/windows.ts"
import { poolCaseArb, type PoolCase } from "../../src/testing/pool-arbitraries.ts"
import { customMaxPool, misroutingExposed } from "./planted-max-pools.ts"

const RUNS = Number(process.env.DAGRAD_FUZZ_RUNS ?? "") || 6
const FAMILIES = ["max", "adaptive_max"] as const
const DIMS = [1, 2, 3] as const

const kindOf = (c: PoolCase): MaxPoolKind => (c.kind === "max" ? `max_pool${c.dims}d` : `adaptive_max_pool${c.dims}d`) as MaxPoolKind

/** Tie-heavy values: a whole plane of zeros (a dead ReLU region), 0/1 values, or integers in [-2, 2]. */
function tieHeavyArb(shape: readonly number[]): fc.Arbitrary<Tensor> {
  const n = shape.reduce((a, b) => a * b, 1)
  const ints = (lo: number, hi: number) => fc.array(fc.integer({ min: lo, max: hi }), { minLength: n, maxLength: n })
  return fc.oneof(fc.constant(new Array<number>(n).fill(0)), ints(0, 1), ints(-2, 2)).map((v) => tensor(v, shape, "float64"))
}

function problemArb(family: (typeof FAMILIES)[number], dims: 1 | 2 | 3, tie?: TiePolicy) {
  return poolCaseArb(family, dims, { tie, maxBatch: 1, maxChannels: 2, maxExtra: 2, maxKernel: 3, maxDilation: 2 }).chain((config) =>
    tieHeavyArb(config.inputShape).map((x) => ({ config, x })),
  )
}

const anyTie = (c: PoolCase, x: Tensor): boolean => tieSets(x.data, maxPoolWindowList(kindOf(c), c.attrs as Attrs, x.shape)).some((T) => T.length >= 2)
const describeCase = (c: PoolCase, x: Tensor): string => `${kindOf(c)} ${JSON.stringify(c.attrs)} shape ${c.inputShape} x=[${[...x.data]}]`
/** The built-in keyword attrs without `tie`, for a custom op declaring the same geometry. */
const geometryAttrs = (c: PoolCase): Attrs => Object.fromEntries(Object.entries(c.attrs).filter(([k]) => k !== "tie")) as Attrs

describe("the issue's cases: split is not nudged, so a correct split gradient passes", () => {
  it("max_pool2d, tie split, global window over an all-zero 4x4 input", () => {
    const x = tensor(new Array(16).fill(0), [1, 1, 4, 4], "float64")
    const r = checkTieAwareGradients(({ x }) => maxPool2d(x, { kernel_size: 4, tie: "split" }), { x })
    expect(r.ok, r.summary).toBe(true)
    const nudge = r.rules.find((q) => q.rule === "nudge")!
    expect(nudge.skipped).toBe(16)
    expect(nudge.applied.join("; ")).toContain('tie "split" averages several one-sided limits; not nudged')
  })

  it("max_pool1d, tie split, kernel 3 stride 1 over six zeros (overlapping windows)", () => {
    const x = tensor([0, 0, 0, 0, 0, 0], [1, 1, 6], "float64")
    const r = checkTieAwareGradients(({ x }) => maxPool1d(x, { kernel_size: 3, stride: 1, tie: "split" }), { x })
    expect(r.ok, r.summary).toBe(true)
    expect(r.plain.ok).toBe(false)
  })

  it("a first-policy tie and a split tie on the same input: the first one is still checked by nudging", () => {
    const x = tensor([0, 0, 5, 1, 1, 7], [1, 1, 6], "float64")
    const r = checkTieAwareGradients(({ x }) => maxPool1d(x, { kernel_size: 2, tie: "first" }), { x })
    const nudge = r.rules.find((q) => q.rule === "nudge")!
    expect(r.ok, r.summary).toBe(true)
    expect(nudge.checked).toBe(6)
    expect(nudge.skipped ?? 0).toBe(0)
  })
})

describe("every max-type op, dimension and policy on tie-heavy problems", () => {
  for (const family of FAMILIES) {
    for (const dims of DIMS) {
      for (const tie of ["first", "last", "split"] as const) {
        it(`${family} ${dims}d, tie "${tie}": never rejected`, () => {
          fc.assert(
            fc.property(problemArb(family, dims, tie), ({ config, x }) => {
              const r = checkTieAwareGradients(({ x }) => config.apply(x), { x })
              expect(r.ok, `${describeCase(config, x)}\n${r.summary}`).toBe(true)
            }),
            { numRuns: RUNS },
          )
        })
      }

      it(`${family} ${dims}d, tie "all": rejected exactly where a window ties`, () => {
        fc.assert(
          fc.property(problemArb(family, dims, "all"), ({ config, x }) => {
            const r = checkTieAwareGradients(({ x }) => config.apply(x), { x }, { rules: ["clarke"] })
            expect(r.ok, `${describeCase(config, x)}\n${r.summary}`).toBe(!anyTie(config, x))
          }),
          { numRuns: RUNS },
        )
      })

      it(`${family} ${dims}d, a custom op's arbitrary convex combination: never rejected`, () => {
        fc.assert(
          fc.property(problemArb(family, dims), fc.integer({ min: 0, max: 1000 }), ({ config, x }, seed) => {
            const kind = kindOf(config)
            const pool = customMaxPool("convex", kind)
            const r = checkTieAwareGradients(({ x }) => pool(x, { ...geometryAttrs(config), weight_seed: seed }), { x }, { treatAs: { [`convex_${kind}`]: kind } })
            expect(r.ok, `${describeCase(config, x)} seed ${seed}\n${r.summary}`).toBe(true)
          }),
          { numRuns: RUNS },
        )
      })

      it(`${family} ${dims}d, planted misrouting: caught exactly where it is wrong`, () => {
        fc.assert(
          fc.property(problemArb(family, dims), ({ config, x }) => {
            const kind = kindOf(config)
            const pool = customMaxPool("misrouted", kind)
            const r = checkTieAwareGradients(({ x }) => pool(x, geometryAttrs(config)), { x }, { treatAs: { [`misrouted_${kind}`]: kind } })
            const exposed = misroutingExposed(x.data, kind, geometryAttrs(config), x.shape)
            expect(r.ok, `${describeCase(config, x)} exposed=${exposed}\n${r.summary}`).toBe(!exposed)
            if (exposed) expect(r.rules.find((q) => q.rule === "clarke")!.ok).toBe(false)
          }),
          { numRuns: RUNS },
        )
      })
    }
  }
})

describe("a property over the planted wrong gradient fails, and fast-check shrinks it", () => {
  it("'the checker accepts the misrouted pool' is false, with a 1-d counterexample of three elements", () => {
    const result = fc.check(
      fc.property(problemArb("max", 1), ({ config, x }) => {
        const kind = kindOf(config)
        const pool = customMaxPool("misrouted", kind)
        return checkTieAwareGradients(({ x }) => pool(x, geometryAttrs(config)), { x }, { treatAs: { [`misrouted_${kind}`]: kind }, rules: ["clarke"] }).ok
      }),
      { seed: 23, numRuns: 200 },
    )
    expect(result.failed).toBe(true)
    const [{ config, x }] = result.counterexample!
    // The smallest exposure: one window of three holding two tied maxima and one smaller element.
    expect(x.data.length).toBe(3)
    const [low, a, b] = [...x.data].sort((p, q) => p - q)
    expect(a).toBe(b)
    expect(low).toBeLessThan(a)
    expect(config.attrs.kernel_size).toEqual([3])
  })
})
