// The WASM convolution kernels against a float64 convolution written here as the defining
// sum (independent of both backends' code), at float32 tolerance: forward with bias and
// relu, input gradient, weight gradient; 1-, 2- and 3-d, strides, dilation, groups,
// symmetric and one-sided padding.
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { convBackwardInputWasm, convBackwardWeightWasm, convForwardWasm } from "../../../src/kernels/wasm/conv.ts"
import { convGeometry } from "../../../src/kernels/conv/im2col.ts"
import type { ConvProblem } from "../../../src/kernels/conv/problem.ts"

const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1

/** Every (output element, weight, input element) triple of the conv, as flat indices. */
function* taps(p: ConvProblem): Generator<[number, number, number]> {
  const g = p.geometry
  const cinG = p.inChannels / p.groups
  const coutG = p.outChannels / p.groups
  const [iD, iH, iW] = g.inSize
  const [oD, oH, oW] = g.outSize
  const [kD, kH, kW] = g.kernel
  for (let n = 0; n < p.batch; n++)
    for (let co = 0; co < p.outChannels; co++)
      for (let od = 0; od < oD; od++) for (let oh = 0; oh < oH; oh++) for (let ow = 0; ow < oW; ow++)
        for (let ci = 0; ci < cinG; ci++) for (let a = 0; a < kD; a++) for (let b = 0; b < kH; b++) for (let e = 0; e < kW; e++) {
          const d = od * g.stride[0] - g.padLo[0] + a * g.dilation[0]
          const h = oh * g.stride[1] - g.padLo[1] + b * g.dilation[1]
          const w = ow * g.stride[2] - g.padLo[2] + e * g.dilation[2]
          if (d < 0 || d >= iD || h < 0 || h >= iH || w < 0 || w >= iW) continue
          const c = Math.floor(co / coutG) * cinG + ci
          yield [(((n * p.outChannels + co) * oD + od) * oH + oh) * oW + ow, (((co * cinG + ci) * kD + a) * kH + b) * kW + e, (((n * p.inChannels + c) * iD + d) * iH + h) * iW + w]
        }
}

function close(got: Float32Array, want: Float64Array, bound: Float64Array, terms: number, what: string): void {
  for (let i = 0; i < want.length; i++) {
    const tol = 2 * (terms + 2) * 2 ** -24 * bound[i] + 1e-30
    if (!(Math.abs(got[i] - want[i]) <= tol)) expect.fail(`${what}[${i}] = ${got[i]}, want ${want[i]} (tolerance ${tol})`)
  }
}

const problem = fc.record({
  dims: fc.integer({ min: 1, max: 3 }),
  batch: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cinG: fc.integer({ min: 1, max: 3 }),
  coutG: fc.integer({ min: 1, max: 5 }),
  size: fc.integer({ min: 3, max: 9 }),
  kernel: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  dilation: fc.integer({ min: 1, max: 2 }),
  padLo: fc.integer({ min: 0, max: 2 }),
  padHi: fc.integer({ min: 0, max: 2 }),
  seed: fc.integer({ min: 1, max: 1e6 }),
})


/** Checks the three kernels on one problem against the float64 sums. */
function checkProblem(q: typeof problem extends fc.Arbitrary<infer T> ? T : never): void {
    const lead = 3 - q.dims
    const pick = (v: number, one: number): number[] => Array.from({ length: q.dims }, (_, i) => (i < 0 ? one : v))
    const inSize = pick(q.size, 1)
    const out = inSize.map((n) => Math.floor((n + q.padLo + q.padHi - q.dilation * (q.kernel - 1) - 1) / q.stride) + 1)
    if (out.some((o) => o < 1) || lead < 0) return
    const p: ConvProblem = { batch: q.batch, inChannels: q.cinG * q.groups, outChannels: q.coutG * q.groups, groups: q.groups, geometry: convGeometry(inSize, out, pick(q.kernel, 1), pick(q.stride, 1), pick(q.dilation, 1), pick(q.padLo, 0)) }
    const r = rng(q.seed)
    const kVol = q.kernel ** q.dims
    const x = Float32Array.from({ length: q.batch * p.inChannels * q.size ** q.dims }, r)
    const w = Float32Array.from({ length: p.outChannels * q.cinG * kVol }, r)
    const bias = Float32Array.from({ length: p.outChannels }, r)
    const P = out.reduce((a, b) => a * b, 1)
    const gy = Float32Array.from({ length: q.batch * p.outChannels * P }, r)
    const y = new Float64Array(gy.length), yB = new Float64Array(gy.length)
    const gx = new Float64Array(x.length), gxB = new Float64Array(x.length)
    const gw = new Float64Array(w.length), gwB = new Float64Array(w.length)
    for (const [o, k, i] of taps(p)) {
      y[o] += w[k] * x[i]
      yB[o] += Math.abs(w[k] * x[i])
      gx[i] += w[k] * gy[o]
      gxB[i] += Math.abs(w[k] * gy[o])
      gw[k] += gy[o] * x[i]
      gwB[k] += Math.abs(gy[o] * x[i])
    }
    for (let o = 0; o < y.length; o++) {
      const co = Math.floor(o / P) % p.outChannels
      y[o] += bias[co]
      yB[o] += Math.abs(bias[co])
    }
    const gotY = new Float32Array(gy.length)
    expect(convForwardWasm(x, w, bias, gotY, p, false)).toBe(true)
    close(gotY, y, yB, q.cinG * kVol, "y")
    const gotR = new Float32Array(gy.length)
    convForwardWasm(x, w, bias, gotR, p, true)
    for (let i = 0; i < gotR.length; i++) expect(Object.is(gotR[i], gotY[i] <= 0 ? 0 : gotY[i])).toBe(true)
    const gotGx = new Float32Array(x.length).fill(NaN)
    convBackwardInputWasm(gy, w, gotGx, p)
    close(gotGx, gx, gxB, q.coutG * kVol, "gx")
    const gotGw = new Float32Array(w.length).fill(NaN)
    convBackwardWeightWasm(gy, x, gotGw, p, 0, q.coutG, 0, Infinity)
    close(gotGw, gw, gwB, q.batch * P, "gw")
}

describe("WASM convolution kernels", () => {
  it("match the defining float64 sums within float32 rounding", () => {
    fc.assert(fc.property(problem, checkProblem), { numRuns: 80 })
  })

  it("match them on rows of 16 or more at stride 1 (the weight gradient's row kernel, every tail length)", () => {
    const long = problem.map((q) => ({ ...q, dims: Math.min(q.dims, 2), size: 16 + (q.size % 6), stride: 1, batch: Math.min(q.batch, 2) }))
    fc.assert(fc.property(long, checkProblem), { numRuns: 30 })
  })
})
