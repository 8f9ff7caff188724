import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { adaptiveBin, adaptiveOutputShape, poolWindow, unpoolOutputSize } from "../../../src/ops/pool/index.ts"
import { explainPoolShape, poolOutputShape, poolOutputSize } from "../../../src/index.ts"
import { poolParams } from "../../../src/ops/pool/geometry.ts"

// Brute force: count windows one by one instead of using the closed form.
//  floor mode: window o is kept while its last position fits in the padded input;
//  ceil mode: while it starts at most s-1 past the last full window's start, and
//             (PyTorch's correction) it starts inside the input or the left padding.
function bruteOutputSize(L: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const lastStart = L + 2 * p - d * (k - 1) - 1 // last padded-coordinate start of a full window
  let n = 0
  for (let o = 0; o < 1000; o++) {
    const start = o * s
    const keep = ceil ? start <= lastStart + s - 1 && start - p < L : start <= lastStart
    if (!keep) break
    n++
  }
  return n
}

const dimArb = fc.record({
  L: fc.integer({ min: 1, max: 30 }),
  k: fc.integer({ min: 1, max: 6 }),
  s: fc.integer({ min: 1, max: 5 }),
  d: fc.integer({ min: 1, max: 3 }),
  pRaw: fc.integer({ min: 0, max: 3 }),
  ceil: fc.boolean(),
})

describe("pooling output size", () => {
  it("matches brute-force window enumeration (floor and ceil_mode, padding, dilation)", () => {
    fc.assert(
      fc.property(dimArb, ({ L, k, s, d, pRaw, ceil }) => {
        const p = Math.min(pRaw, Math.floor(k / 2))
        const want = bruteOutputSize(L, k, s, p, d, ceil)
        const got = poolOutputSize(L, k, s, p, d, ceil)
        expect(Math.max(got, 0)).toBe(want)
      }),
      { numRuns: 2000 },
    )
  })

  it("every kept window without dilation has an in-bounds element; windows never start in the right padding", () => {
    fc.assert(
      fc.property(dimArb, ({ L, k, s, pRaw, ceil }) => {
        const p = Math.min(pRaw, Math.floor(k / 2))
        const out = poolOutputSize(L, k, s, p, 1, ceil)
        for (let o = 0; o < out; o++) {
          const w = poolWindow(o, L, k, s, p, 1)
          expect(w.count).toBeGreaterThan(0)
          expect(w.start).toBeLessThan(L)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it("window extents, in-bounds positions and avg divisors match enumeration", () => {
    fc.assert(
      fc.property(dimArb, fc.integer({ min: 0, max: 10 }), ({ L, k, s, d, pRaw }, o) => {
        const p = Math.min(pRaw, Math.floor(k / 2))
        const w = poolWindow(o, L, k, s, p, d)
        const positions = Array.from({ length: k }, (_, j) => o * s - p + j * d)
        const inside = positions.filter((x) => x >= 0 && x < L)
        expect(w.count).toBe(inside.length)
        if (inside.length > 0) expect(w.first).toBe(inside[0])
        expect(w.start).toBe(positions[0])
        expect(w.end).toBe(positions[k - 1] + 1)
        // count_include_pad divisor (d = 1): padding counts, what lies beyond L + p does not
        if (d === 1 && o < poolOutputSize(L, k, s, p, d, true)) expect(w.poolSize).toBe(positions.filter((x) => x < L + p).length)
      }),
      { numRuns: 1000 },
    )
  })

  it("hand-worked: ceil_drop and the golden case shapes", () => {
    expect(poolOutputSize(6, 2, 4, 1, 1, true)).toBe(2) // ceil(5/4)+1 = 3, window 2 starts at 7 >= 6
    expect(poolOutputSize(6, 2, 4, 1, 1, false)).toBe(2)
    expect(poolOutputSize(11, 2, 2, 1, 2, true)).toBe(6)
    expect(poolOutputShape([2, 2, 9, 8], poolParams({ kernel_size: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2], ceil_mode: true }, 2, { padding: true, dilation: true }))).toEqual([
      2, 2, 5, 6,
    ])
    expect(poolOutputShape([3, 10], poolParams({ kernel_size: 3, stride: 2, padding: 1 }, 1, { padding: true, dilation: true }))).toEqual([3, 5])
  })

  it("explainPoolShape shows the derivation, including the ceil_mode correction", () => {
    const text = explainPoolShape([1, 2, 6], { kernel_size: [2], stride: [4], padding: [1], dilation: [1], ceil_mode: true })
    expect(text).toContain("ceil((6 + 2*1 - 1*(2-1) - 1) / 4) + 1 = ceil(6/4) + 1 = 3")
    expect(text).toContain("the last window would start at 2*4 - 1 = 7 >= L = 6, inside the right padding, so it is dropped: 2")
    expect(text).toContain("output [1, 2, 2]")
  })
})

describe("adaptive bins", () => {
  it("bin i covers [floor(iL/O), ceil((i+1)L/O)): the bins cover the input, in order, each non-empty", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (L, O) => {
        let covered = 0
        for (let i = 0; i < O; i++) {
          const { start, end } = adaptiveBin(i, L, O)
          expect(start).toBe(Math.floor((i * L) / O))
          expect(end).toBe(Math.ceil(((i + 1) * L) / O))
          expect(end).toBeGreaterThan(start)
          expect(start).toBeLessThanOrEqual(covered) // no gap
          covered = Math.max(covered, end)
        }
        expect(covered).toBe(L)
      }),
    )
    expect([0, 1, 2, 3].map((i) => adaptiveBin(i, 10, 4))).toEqual([
      { start: 0, end: 3 },
      { start: 2, end: 5 },
      { start: 5, end: 8 },
      { start: 7, end: 10 },
    ])
  })

  it("output shape keeps leading dims; null keeps an input size", () => {
    expect(adaptiveOutputShape([2, 3, 7, 9], [3, null])).toEqual([2, 3, 3, 9])
    expect(adaptiveOutputShape([3, 7], [12])).toEqual([3, 12])
  })
})

describe("max_unpool output size", () => {
  it("default (L-1)*s - 2p + k, and output_size strictly between default - s and default + s", () => {
    const a = { kernel_size: [3, 3], stride: [2, 2], padding: [1, 1] }
    expect(unpoolOutputSize([4, 4], a, null)).toEqual([7, 7])
    expect(unpoolOutputSize([4, 4], a, [8, 6])).toEqual([8, 6])
    expect(() => unpoolOutputSize([4, 4], a, [9, 7])).toThrow(/has 9 in spatial dim 0 \(H\) \(expected strictly between default - s = 5 and default \+ s = 9, where default = \(L-1\)\*s - 2p \+ k = \(4-1\)\*2 - 2\*1 \+ 3 = 7\)/)
    expect(() => unpoolOutputSize([4, 4], a, [7, 5])).toThrow(/strictly between/)
  })
})

describe("explainPoolShape for researchers", () => {
  it("names the effective kernel, says when the ceil_mode correction does not fire, and prints on request", () => {
    const printed: string[] = []
    // dilation 2, kernel 3: effective kernel 5. L=9, s=2, p=1, ceil: ceil((9+2-4-1)/2)+1 = 4;
    // last window starts at 3*2-1 = 5 < 9: no correction
    const text = explainPoolShape([1, 1, 9], { kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true }, { print: (t) => printed.push(t) })
    expect(text).toContain("effective kernel 2*(3-1)+1 = 5")
    expect(text).toContain("the last window starts at 3*2 - 1 = 5 < L = 9, so no correction")
    expect(text).toContain("output [1, 1, 4]")
    expect(printed).toEqual([text])
  })

  it("derives avg pooling's border divisors (hand-worked: L=6, k=3, s=2, p=1, ceil_mode)", () => {
    // windows start at -1, 1, 3, 5; the last covers 5..7 but L + p = 7 clips it to 5..6: size 2.
    // In-bounds counts: [0,1] = 2, 3, 3, [5] = 1.
    const include = explainPoolShape([1, 1, 6], { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }, { avg: { count_include_pad: true } })
    expect(include).toContain("first 3, interior 3, last 2")
    const exclude = explainPoolShape([1, 1, 6], { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }, { avg: { count_include_pad: false } })
    expect(exclude).toContain("first 2, interior 3, last 1")
    expect(explainPoolShape([1, 1, 6], { kernel_size: 3, stride: 2, padding: 1 }, { avg: { divisor_override: 4 } })).toContain("divisor_override = 4 for every window")
  })

  it("accepts PyTorch's int-or-tuple attrs and rejects invalid ones with the expected form", () => {
    expect(explainPoolShape([2, 3, 8, 8], { kernel_size: 2 })).toContain("output [2, 3, 4, 4]")
    expect(() => explainPoolShape([1, 1, 8], { kernel_size: 2, padding: 2 })).toThrow(/expected padding <= floor\(kernel_size \/ 2\)/)
  })
})
