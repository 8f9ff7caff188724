// Metamorphic gradient properties: they hold for dagrad's pooling ops over the pool
// arbitraries, their preconditions reject the cases where they need not hold, and planted
// wrong gradients violate them.
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { avgPool1dWithWrongDivisor, valueWeightedMaxPool1d, positionRoutedMaxPool1d } from "./planted.ts"
import { tensor } from "../../src/index.ts"
import { adaptiveMaxPoolSubject, avgPoolSubject, checkAvgDivisorIdentity, checkGradientMass, checkPositiveScaling, checkShiftInvariance, checkWindowPermutationInvariance, customMaxPoolSubject, maxPoolSubject, type MetamorphicReport, type PoolSubject } from "../../src/testing/metamorphic.ts"
import { poolProblemArb, type PoolCase } from "../../src/testing/pool-arbitraries.ts"
import type { MaxPoolOptions } from "../../src/ops/pool/max.ts"
import type { AvgPoolOptions } from "../../src/ops/pool/avg.ts"

const maxSubject = (c: PoolCase): PoolSubject =>
  c.kind === "adaptive_max"
    ? adaptiveMaxPoolSubject(c.dims, c.attrs.output_size as (number | null)[], { tie: c.attrs.tie as "first" })
    : maxPoolSubject(c.dims, c.attrs as unknown as MaxPoolOptions)

const holds = (r: MetamorphicReport): boolean => {
  fc.pre(r.status !== "precondition-failed")
  expect(r.ok, `${r.property}: ${r.detail} (${r.precondition})`).toBe(true)
  return true
}

describe("metamorphic properties hold for the pooling ops", () => {
  for (const kind of ["max", "adaptive_max"] as const) {
    for (const values of ["tie-free", "tie-heavy"] as const) {
      it(`${kind}, ${values}: shift, scaling, window permutation, mass (1-3d)`, () => {
        for (const dims of [1, 2, 3] as const) {
          fc.assert(
            fc.property(poolProblemArb(kind, dims, values, { maxBatch: 1, maxExtra: 2 }), fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: 0.01, max: 100, noNaN: true }), ({ config, x }, c, a) => {
              const s = maxSubject(config)
              holds(checkShiftInvariance(s, x, c))
              holds(checkPositiveScaling(s, x, a))
              holds(checkGradientMass(s, x))
              return holds(checkWindowPermutationInvariance(s, x))
            }),
            { numRuns: 15 },
          )
        }
      })
    }
  }

  it("tie policies split and last keep shift/scale/mass; split and all are permutation-symmetric on ties", () => {
    const x = tensor([1, 1, 0, 2, 2, 2, 0, 1], [1, 1, 8], "float64")
    for (const tie of ["last", "split"] as const) {
      const s = maxPoolSubject(1, { kernel_size: 2, tie })
      expect(checkShiftInvariance(s, x, 3).ok).toBe(true)
      expect(checkPositiveScaling(s, x, 0.5).ok).toBe(true)
      expect(checkGradientMass(s, x).ok).toBe(true)
    }
    for (const tie of ["split", "all"] as const) expect(checkWindowPermutationInvariance(maxPoolSubject(1, { kernel_size: 4, tie }), x).ok).toBe(true)
    expect(checkGradientMass(maxPoolSubject(1, { kernel_size: 2, tie: "all" }), x).status).toBe("precondition-failed")
    expect(checkWindowPermutationInvariance(maxPoolSubject(1, { kernel_size: 4 }), x).status).toBe("precondition-failed")
  })

  it("avg pooling: the divisor identity over count_include_pad, ceil_mode and divisor_override (1-3d)", () => {
    for (const dims of [1, 2, 3] as const) {
      fc.assert(
        fc.property(poolProblemArb("avg", dims, "tie-free", { maxBatch: 1 }), ({ config, x }) => {
          const s = avgPoolSubject(dims, config.attrs as unknown as AvgPoolOptions)
          holds(checkWindowPermutationInvariance(s, x, { tol: 1e-12 }))
          return holds(checkAvgDivisorIdentity(s, x))
        }),
        { numRuns: 40 },
      )
    }
  })

  it("float32: preconditions are checked at float32 precision", () => {
    const x = tensor([1, 1 + 2 ** -30, 3, 4], [1, 1, 4], "float64") // distinct in float64, equal in float32
    const s = maxPoolSubject(1, { kernel_size: 2 })
    expect(checkShiftInvariance(s, x, 0.25, { dtype: "float32" }).ok).toBe(true)
    const y = tensor([1, 1 + 2 ** -20, 3, 4], [1, 1, 4], "float64") // distinct in float32, equal after + 2^8
    const r = checkShiftInvariance(s, y, 256, { dtype: "float32" })
    expect(r.status).toBe("precondition-failed")
    expect(r.precondition).toContain("window 0")
    expect(checkShiftInvariance(s, y, 1e17).status).toBe("precondition-failed") // float64 too
    expect(checkGradientMass(s, y, { dtype: "float32" }).ok).toBe(true)
  })
})

describe("planted wrong gradients violate them", () => {
  const x = tensor([0.3, 1.2, -0.4, 2.5, 0.9, 1.7, -1.1, 0.2], [1, 1, 8], "float64")
  const attrs = { kernel_size: 2, stride: 2 }

  it("a value-weighted max-pool gradient (gy·y at the argmax) breaks shift, scaling and mass", () => {
    const s = customMaxPoolSubject("value_weighted", (v) => valueWeightedMaxPool1d(v, attrs), "max_pool1d", attrs)
    expect(checkShiftInvariance(s, x, 1).status).toBe("fail")
    expect(checkPositiveScaling(s, x, 2).status).toBe("fail")
    expect(checkGradientMass(s, x).status).toBe("fail")
    expect(checkWindowPermutationInvariance(s, x).ok).toBe(true) // it still follows the max
  })

  it("a gradient routed to each window's first position breaks window-permutation invariance only", () => {
    const s = customMaxPoolSubject("position_routed", (v) => positionRoutedMaxPool1d(v, attrs), "max_pool1d", attrs)
    expect(checkWindowPermutationInvariance(s, x, { permSeed: 3 }).status).toBe("fail")
    expect(checkShiftInvariance(s, x, 1).ok).toBe(true)
    expect(checkGradientMass(s, x).ok).toBe(true)
  })

  it("an avg backward that always divides by the kernel size breaks the divisor identity where it matters", () => {
    const a = { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true }
    const s = avgPoolSubject(1, a, (v) => avgPool1dWithWrongDivisor(v, a))
    expect(checkAvgDivisorIdentity(s, x).status).toBe("fail")
    const plain = { kernel_size: 2, stride: 2 } // every window full: the bug is invisible
    expect(checkAvgDivisorIdentity(avgPoolSubject(1, plain, (v) => avgPool1dWithWrongDivisor(v, plain)), x).ok).toBe(true)
  })
})
