import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { type ConvProblem } from "../../../src/kernels/conv/problem.ts"
import { convForward } from "../../../src/kernels/conv/conv.ts"
import { useWinograd } from "../../../src/kernels/conv/winograd.ts"
import { convGeometry } from "../../../src/kernels/conv/im2col.ts"
import { onJsKernels } from "../../helpers.ts"

// these tests compare JS kernel paths bit for bit
onJsKernels()

// Float32 5x5 stride-1 forward passes with >= 4 channels each side run Winograd
// F(2x2, 5x5) (src/kernels/conv-winograd.ts), in float64 inside. Its promise: the
// correctly rounded float32 value of the exact convolution up to one unit in the last
// place in rare near-ties, so nearly always the direct path's bits; infinities and NaN
// exactly as the direct sum places them; bias and the fused relu as the GEMM path applies
// them. The reference here is a plain float64 loop nest over the definition.

interface Case {
  batch: number
  groups: number
  cinG: number
  coutG: number
  inH: number
  inW: number
  padH: number
  padW: number
  bias: boolean
  relu: boolean
}

function problem(c: Case): ConvProblem {
  const outH = c.inH + 2 * c.padH - 4
  const outW = c.inW + 2 * c.padW - 4
  const g = convGeometry([c.inH, c.inW], [outH, outW], [5, 5], [1, 1], [1, 1], [c.padH, c.padW])
  return { batch: c.batch, inChannels: c.groups * c.cinG, outChannels: c.groups * c.coutG, groups: c.groups, geometry: g }
}

/** y = conv(x, w) + bias (then relu), the definition summed in float64, not rounded. */
function reference(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | undefined): Float64Array {
  const outH = c.inH + 2 * c.padH - 4
  const outW = c.inW + 2 * c.padW - 4
  const cin = c.groups * c.cinG
  const cout = c.groups * c.coutG
  const y = new Float64Array(c.batch * cout * outH * outW)
  let o = 0
  for (let n = 0; n < c.batch; n++) {
    for (let co = 0; co < cout; co++) {
      const grp = Math.floor(co / c.coutG)
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++, o++) {
          let s = 0
          for (let ci = 0; ci < c.cinG; ci++) {
            for (let kh = 0; kh < 5; kh++) {
              for (let kw = 0; kw < 5; kw++) {
                const h = oh + kh - c.padH
                const v = ow + kw - c.padW
                if (h < 0 || h >= c.inH || v < 0 || v >= c.inW) continue
                s += w[((co * c.cinG + ci) * 5 + kh) * 5 + kw] * x[((n * cin + grp * c.cinG + ci) * c.inH + h) * c.inW + v]
              }
            }
          }
          if (bias !== undefined) s += bias[co]
          y[o] = c.relu ? (s > 0 || Number.isNaN(s) ? s : 0) : s
        }
      }
    }
  }
  return y
}

/** The distance between a and b in float32 units in the last place (a, b finite float32). */
function ulps(a: number, b: number): number {
  const ia = new Int32Array(new Float32Array([a]).buffer)[0]
  const ib = new Int32Array(new Float32Array([b]).buffer)[0]
  const key = (i: number): number => (i < 0 ? -(i & 0x7fffffff) : i)
  return Math.abs(key(ia) - key(ib))
}

/** Same value (NaN equal to NaN), or both finite within one float32 unit in the last place. */
function close(got: number, want: number): boolean {
  if (Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))) return true
  return Number.isFinite(got) && Number.isFinite(want) && ulps(got, want) <= 1
}

function data(length: number, seed: number, scale = 1): Float32Array {
  // a deterministic spread of magnitudes and signs
  return Float32Array.from({ length }, (_, i) => Math.fround(Math.sin((i + seed) * 12.9898) * 43758.5453 % 1 * scale))
}

function run(c: Case, x = data(c.batch * c.groups * c.cinG * c.inH * c.inW, 1), w = data(c.groups * c.coutG * c.cinG * 25, 2, 0.5)): { y: Float32Array; want: Float64Array } {
  const bias = c.bias ? data(c.groups * c.coutG, 3) : undefined
  const p = problem(c)
  expect(useWinograd(p)).toBe(true)
  const y = new Float32Array(c.batch * p.outChannels * p.geometry.outSize[1] * p.geometry.outSize[2]).fill(Number.NaN)
  convForward(x, w, bias, y, p, c.relu)
  return { y, want: reference(c, x, w, bias) }
}

const arbCase = fc.record({
  batch: fc.integer({ min: 1, max: 3 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cinG: fc.integer({ min: 4, max: 9 }),
  coutG: fc.integer({ min: 4, max: 13 }),
  inH: fc.integer({ min: 5, max: 15 }),
  inW: fc.integer({ min: 5, max: 15 }),
  padH: fc.integer({ min: 0, max: 3 }),
  padW: fc.integer({ min: 0, max: 3 }),
  bias: fc.boolean(),
  relu: fc.boolean(),
})

describe("Winograd F(2x2, 5x5) forward (float32)", () => {
  it("is chosen for LeNet-5's second layer and not for its first, float64 data or other kernels", () => {
    const lenet2 = problem({ batch: 64, groups: 1, cinG: 6, coutG: 16, inH: 14, inW: 14, padH: 0, padW: 0, bias: true, relu: true })
    const lenet1 = problem({ batch: 64, groups: 1, cinG: 1, coutG: 6, inH: 28, inW: 28, padH: 2, padW: 2, bias: true, relu: true })
    expect(useWinograd(lenet2)).toBe(true)
    expect(useWinograd(lenet1)).toBe(false)
    const k3 = { ...lenet2, geometry: convGeometry([14, 14], [12, 12], [3, 3], [1, 1], [1, 1], [0, 0]) }
    const strided = { ...lenet2, geometry: convGeometry([14, 14], [5, 5], [5, 5], [2, 2], [1, 1], [0, 0]) }
    expect(useWinograd(k3)).toBe(false)
    expect(useWinograd(strided)).toBe(false)
  })

  it("rounds the exact convolution correctly but for rare 1-ulp near-ties (random problems, odd sizes, padding, groups)", () => {
    let outputs = 0
    let inexact = 0
    fc.assert(
      fc.property(arbCase, (c) => {
        if (c.inH + 2 * c.padH < 6 || c.inW + 2 * c.padW < 6) return
        const { y, want } = run(c)
        for (let i = 0; i < y.length; i++) {
          const rounded = Math.fround(want[i])
          outputs++
          if (Object.is(y[i], rounded)) continue
          inexact++
          if (!(ulps(y[i], rounded) <= 1)) expect.fail(`output ${i}: ${y[i]} against ${rounded} (exact ${want[i]}) in ${JSON.stringify(c)}`)
        }
      }),
      { numRuns: 60, seed: 20261207 },
    )
    // a wrong transform coefficient is off by far more, in most outputs
    expect(inexact).toBeLessThanOrEqual(outputs / 1000)
  })

  it("covers outputs spanning several tile blocks (81 tiles in blocks of 63 and 18)", () => {
    const c = { batch: 2, groups: 1, cinG: 8, coutG: 13, inH: 15, inW: 15, padH: 3, padW: 3, bias: true, relu: false }
    const { y, want } = run(c)
    for (let i = 0; i < y.length; i++) if (!close(y[i], Math.fround(want[i]))) expect.fail(`output ${i}: ${y[i]} against ${Math.fround(want[i])}`)
  })

  it("gives LeNet-5's second layer the direct sum's bits on random data (bias, relu; 102,400 outputs)", () => {
    const c = { batch: 64, groups: 1, cinG: 6, coutG: 16, inH: 14, inW: 14, padH: 0, padW: 0, bias: true, relu: true }
    const { y, want } = run(c)
    let same = 0
    for (let i = 0; i < y.length; i++) if (Object.is(y[i], Math.fround(want[i]))) same++
    expect(same).toBe(y.length)
  })

  it("places infinities and NaN where the direct sum does (such samples take the direct path)", () => {
    const c = { batch: 3, groups: 1, cinG: 4, coutG: 4, inH: 10, inW: 10, padH: 0, padW: 0, bias: false, relu: false }
    const x = data(3 * 4 * 100, 1)
    // sample 1, channel 0, row 0, column 2: in the windows of outputs (0, 0) and (0, 1),
    // not of (1, 0) or (1, 1); the transforms would mix it into sums of opposite infinities
    x[4 * 100 + 2] = Number.POSITIVE_INFINITY
    x[2 * 4 * 100 + 55] = Number.NaN // sample 2
    const w = data(4 * 4 * 25, 2, 0.5)
    const { y, want } = run(c, x, w)
    for (let i = 0; i < y.length; i++) {
      const r = Math.fround(want[i])
      if (!close(y[i], r)) expect.fail(`output ${i}: ${y[i]} against ${r}`)
    }
    // sample 1: the first row's outputs whose windows hold it are infinite, the row below finite
    const plane = 36
    expect(y[4 * plane + 0]).toBe(want[4 * plane + 0])
    expect(Math.abs(y[4 * plane + 0])).toBe(Number.POSITIVE_INFINITY)
    expect(Number.isFinite(y[4 * plane + 6])).toBe(true)
    expect(Number.isFinite(y[4 * plane + 7])).toBe(true)
    // sample 0 is untouched by the others
    for (let i = 0; i < 4 * plane; i++) expect(Number.isFinite(y[i])).toBe(true)
  })

  it("falls back to the direct path for the whole batch when a filter holds an infinity", () => {
    const c = { batch: 2, groups: 1, cinG: 4, coutG: 4, inH: 8, inW: 8, padH: 1, padW: 1, bias: true, relu: false }
    const w = data(4 * 4 * 25, 2, 0.5)
    w[3 * 25 + 12] = Number.NEGATIVE_INFINITY // output channel 0, input channel 3, centre tap
    const { y, want } = run(c, undefined, w)
    for (let i = 0; i < y.length; i++) {
      const r = Math.fround(want[i])
      if (!close(y[i], r)) expect.fail(`output ${i}: ${y[i]} against ${r}`)
    }
  })

  it("stores +0 for an all-zero sample without a bias, as the GEMM path does", () => {
    const c = { batch: 1, groups: 1, cinG: 4, coutG: 4, inH: 6, inW: 6, padH: 0, padW: 0, bias: false, relu: false }
    const { y } = run(c, new Float32Array(4 * 36), data(4 * 4 * 25, 2, 0.5))
    for (const v of y) expect(Object.is(v, 0)).toBe(true)
  })
})
