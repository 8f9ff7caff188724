import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { directBackwardWeight, useDirectBackwardWeight } from "../../../src/kernels/conv/direct-weight.ts"
import { gemmSerial } from "../../../src/kernels/gemm/serial.ts"
import { convGeometry, im2col } from "../../../src/kernels/conv/im2col.ts"
import type { ConvProblem } from "../../../src/kernels/conv/problem.ts"
import { onJsKernels } from "../../helpers.ts"

// these tests compare JS kernel paths bit for bit
onJsKernels()

// The direct weight-gradient kernel (tiny K, LeNet-5's first layer) promises the bits of
// the im2col + GEMM path (gw += gy col^T per sample), for any range of output channels
// and taps (how threads share it), whichever of its two tiles (a whole 5-wide kernel row,
// or 6 channels x 2 taps) computes an element. Checked bit for bit on random problems.

interface Case {
  batch: number
  inC: number
  outC: number
  inH: number
  inW: number
  kH: number
  kW: number
  stride: number
  dilation: number
  pad: number
  /** Fractions of the channel and tap ranges to compute: [c0, c1) and [t0, t1). */
  range: [number, number, number, number]
}

const value = (i: number) => Math.fround(Math.sin(i * 12.9898) * 3)

/** Checks one case; false when the problem is not the direct kernel's. */
function run(c: Case): boolean {
  const out = (n: number, k: number) => Math.floor((n + 2 * c.pad - c.dilation * (k - 1) - 1) / c.stride) + 1
  const outH = out(c.inH, c.kH)
  const outW = out(c.inW, c.kW)
  if (outH < 1 || outW < 1) return false
  const g = convGeometry([1, c.inH, c.inW], [1, outH, outW], [1, c.kH, c.kW], [1, c.stride, c.stride], [1, c.dilation, c.dilation], [0, c.pad, c.pad])
  const p: ConvProblem = { batch: c.batch, inChannels: c.inC, outChannels: c.outC, groups: 1, geometry: g }
  if (!useDirectBackwardWeight(p)) return false
  const K = c.inC * c.kH * c.kW
  const P = outH * outW
  const x = Float32Array.from({ length: c.batch * c.inC * c.inH * c.inW }, (_, i) => value(i))
  const gy = Float32Array.from({ length: c.batch * c.outC * P }, (_, i) => value(i + 5000))
  const want = new Float32Array(c.outC * K)
  const col = new Float32Array(K * P)
  for (let n = 0; n < c.batch; n++) {
    im2col(x, n * c.inC * c.inH * c.inW, c.inC, g, col)
    gemmSerial(false, true, c.outC, K, P, 1, gy.subarray(n * c.outC * P), P, col, P, n === 0 ? 0 : 1, want, K)
  }
  const [f0, f1, f2, f3] = c.range
  const c0 = Math.floor(f0 * c.outC)
  const c1 = Math.max(c0 + 1, Math.ceil(f1 * c.outC))
  const t0 = Math.floor(f2 * K)
  const t1 = Math.max(t0 + 1, Math.ceil(f3 * K))
  const UNTOUCHED = 12345
  const got = new Float32Array(c.outC * K).fill(UNTOUCHED)
  directBackwardWeight(gy, x, got, p, c0, c1, t0, t1)
  for (let co = 0; co < c.outC; co++) {
    for (let t = 0; t < K; t++) {
      const inside = co >= c0 && co < c1 && t >= t0 && t < t1
      expect(got[co * K + t], `gw[${co}, ${t}]`).toBe(inside ? want[co * K + t] : UNTOUCHED)
    }
  }
  return true
}

const whole: [number, number, number, number] = [0, 1, 0, 1]

/** Runs the check on `numRuns` random cases; returns how many reached the direct kernel. */
function checkRandomCases(cases: fc.Arbitrary<Case>, numRuns: number): number {
  let checked = 0
  fc.assert(
    fc.property(cases, (c) => {
      if (run(c)) checked++
    }),
    { numRuns },
  )
  return checked
}

describe("direct convolution weight gradient", () => {
  it("LeNet-5's first layer gives the im2col + GEMM bits (positions span several GEMM blocks)", () => {
    expect(run({ batch: 3, inC: 1, outC: 6, inH: 28, inW: 28, kH: 5, kW: 5, stride: 1, dilation: 1, pad: 2, range: whole })).toBe(true)
  })

  it("gives the same bits when two threads' tap ranges cut kernel rows", () => {
    // K = 25 split as the thread pool does (multiples of 6): rows 2 and 3 are cut
    for (const range of [[0, 1, 0, 12 / 25], [0, 1, 12 / 25, 1], [0, 1, 7 / 25, 18 / 25]] as const) {
      expect(run({ batch: 2, inC: 1, outC: 5, inH: 12, inW: 11, kH: 5, kW: 5, stride: 1, dilation: 1, pad: 2, range: [...range] })).toBe(true)
    }
  })

  it("gives the im2col + GEMM bits on random small problems and ranges (property)", () => {
    const cases = fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      inC: fc.integer({ min: 1, max: 2 }),
      outC: fc.integer({ min: 1, max: 8 }),
      inH: fc.integer({ min: 1, max: 9 }),
      inW: fc.integer({ min: 2, max: 13 }),
      kH: fc.integer({ min: 1, max: 3 }),
      kW: fc.constantFrom(1, 2, 3, 5, 5),
      stride: fc.integer({ min: 1, max: 2 }),
      dilation: fc.integer({ min: 1, max: 2 }),
      pad: fc.integer({ min: 0, max: 2 }),
      range: fc.tuple(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    })
    // most random problems must reach the kernel, or the property tests little
    expect(checkRandomCases(cases, 200)).toBeGreaterThan(100)
  })

  it("gives the im2col + GEMM bits where the kernel-row tile applies (5 wide, unit stride and dilation; property)", () => {
    const cases = fc.record({
      batch: fc.integer({ min: 1, max: 2 }),
      inC: fc.integer({ min: 1, max: 2 }),
      outC: fc.integer({ min: 1, max: 7 }),
      inH: fc.integer({ min: 1, max: 9 }),
      inW: fc.integer({ min: 3, max: 13 }),
      kH: fc.integer({ min: 1, max: 3 }),
      kW: fc.constant(5),
      stride: fc.constant(1),
      dilation: fc.constant(1),
      pad: fc.integer({ min: 1, max: 2 }),
      range: fc.tuple(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0.5, max: 1, noNaN: true })),
    })
    expect(checkRandomCases(cases, 150)).toBeGreaterThan(100)
  })
})
