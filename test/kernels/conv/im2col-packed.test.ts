import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { canIm2colPacked, im2colPacked, im2colPackedT } from "../../../src/kernels/conv/direct.ts"
import { convGeometry, im2col } from "../../../src/kernels/conv/im2col.ts"
import type { ConvProblem } from "../../../src/kernels/conv/problem.ts"

// im2col against the definition, and the two packers, which write im2col's column matrix
// (K taps x P positions) straight into gemm's packed-B layout with shortcuts for adjacent
// positions / adjacent taps, entry by entry against im2col, laid out by the documented
// index formulas. (The property found im2col writing past a row when the padding is wider
// than the output.)

interface Case {
  channels: number
  inH: number
  inW: number
  kH: number
  kW: number
  stride: number
  dilation: number
  pad: number
}

function problem(c: Case): ConvProblem | undefined {
  const out = (n: number, k: number) => Math.floor((n + 2 * c.pad - c.dilation * (k - 1) - 1) / c.stride) + 1
  const outH = out(c.inH, c.kH)
  const outW = out(c.inW, c.kW)
  if (outH < 1 || outW < 1) return undefined
  const geometry = convGeometry([1, c.inH, c.inW], [1, outH, outW], [1, c.kH, c.kW], [1, c.stride, c.stride], [1, c.dilation, c.dilation], [0, c.pad, c.pad])
  return { batch: 1, inChannels: c.channels, outChannels: 1, groups: 1, geometry }
}

/** A sample of `channels` planes after `offset` other values (so xOff is exercised). */
function input(channels: number, plane: number, offset: number): Float32Array {
  return Float32Array.from({ length: offset + channels * plane }, (_, i) => ((i * 7919) % 1000) / 100 - 5)
}

function check(c: Case): void {
  const p = problem(c)
  if (p === undefined || !canIm2colPacked(p)) return
  const g = p.geometry
  const K = c.channels * c.kH * c.kW
  const P = g.outSize[1] * g.outSize[2]
  const offset = 3
  const x = input(c.channels, c.inH * c.inW, offset)
  const col = new Float64Array(K * P)
  im2col(x, offset, c.channels, g, col)
  // im2col itself against the definition: tap (ch, kh, kw) of output (oh, ow) reads input
  // (oh * s - pad + kh * d, ow * s - pad + kw * d), 0 outside
  const outW = g.outSize[2]
  for (let t = 0; t < K; t++) {
    const ch = Math.floor(t / (c.kH * c.kW))
    const kh = Math.floor(t / c.kW) % c.kH
    const kw = t % c.kW
    for (let j = 0; j < P; j++) {
      const h = Math.floor(j / outW) * c.stride - c.pad + kh * c.dilation
      const w = (j % outW) * c.stride - c.pad + kw * c.dilation
      const inside = h >= 0 && h < c.inH && w >= 0 && w < c.inW
      expect(col[t * P + j], `im2col t=${t} j=${j}`).toBe(inside ? x[offset + (ch * c.inH + h) * c.inW + w] : 0)
    }
  }

  const packed = new Float64Array(Math.ceil(P / 3) * 3 * K).fill(NaN)
  im2colPacked(x, offset, c.channels, p, packed)
  for (let t = 0; t < K; t++) {
    for (let j = 0; j < Math.ceil(P / 3) * 3; j++) {
      const want = j < P ? col[t * P + j] : 0
      expect(packed[(Math.floor(j / 3) * K + t) * 3 + (j % 3)], `im2colPacked t=${t} j=${j}`).toBe(want)
    }
  }

  const packedT = new Float64Array(Math.ceil(K / 3) * 3 * P).fill(NaN)
  im2colPackedT(x, offset, c.channels, p, packedT)
  for (let j = 0; j < P; j++) {
    for (let t = 0; t < Math.ceil(K / 3) * 3; t++) {
      const want = t < K ? col[t * P + j] : 0
      expect(packedT[(Math.floor(t / 3) * P + j) * 3 + (t % 3)], `im2colPackedT j=${j} t=${t}`).toBe(want)
    }
  }
}

describe("im2col into packed panels", () => {
  it("matches im2col on LeNet-5's layers and on hand-picked edge shapes", () => {
    for (const c of [
      { channels: 1, inH: 28, inW: 28, kH: 5, kW: 5, stride: 1, dilation: 1, pad: 2 },
      { channels: 6, inH: 14, inW: 14, kH: 5, kW: 5, stride: 1, dilation: 1, pad: 0 },
      { channels: 2, inH: 5, inW: 1, kH: 3, kW: 1, stride: 1, dilation: 1, pad: 1 }, // one output column
      { channels: 3, inH: 7, inW: 8, kH: 3, kW: 3, stride: 2, dilation: 1, pad: 1 }, // stride 2: no shortcut
      { channels: 2, inH: 9, inW: 9, kH: 3, kW: 3, stride: 1, dilation: 2, pad: 2 }, // dilation 2
      { channels: 1, inH: 4, inW: 4, kH: 2, kW: 2, stride: 1, dilation: 1, pad: 0 }, // P = 9, K = 4
    ]) {
      check(c)
    }
  })

  it("matches im2col for any small geometry (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          channels: fc.integer({ min: 1, max: 3 }),
          inH: fc.integer({ min: 1, max: 9 }),
          inW: fc.integer({ min: 1, max: 9 }),
          kH: fc.integer({ min: 1, max: 4 }),
          kW: fc.integer({ min: 1, max: 5 }),
          stride: fc.integer({ min: 1, max: 3 }),
          dilation: fc.integer({ min: 1, max: 2 }),
          pad: fc.integer({ min: 0, max: 2 }),
        }),
        (c) => check(c),
      ),
      { numRuns: 200 },
    )
  })
})
