import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { directForward, useDirectForward } from "../../../src/kernels/conv/direct.ts"
import { gemmSerial } from "../../../src/kernels/gemm/serial.ts"
import { convGeometry, im2col } from "../../../src/kernels/conv/im2col.ts"
import { reluForward } from "../../../src/kernels/pointwise/relu.ts"
import type { ConvProblem } from "../../../src/kernels/conv/problem.ts"
import { onJsKernels } from "../../helpers.ts"

// these tests compare JS kernel paths bit for bit
onJsKernels()

// The direct forward kernel (tiny K, LeNet-5's first layer) promises the bits of the
// im2col + GEMM path: same taps, same order, float64 accumulation, bias as the GEMM's
// beta = 1 start. Checked bit for bit on random small problems (full and edge tiles,
// strides, dilations, padding, bias or not). With the fused relu (applied as each tile is
// stored), the bits of that output followed by the relu kernel, special values included.

interface Case {
  batch: number
  inC: number
  outC: number
  inH: number
  inW: number
  k: number
  stride: number
  dilation: number
  pad: number
  bias: boolean
  relu?: boolean
}

/** Equal values, -0 and +0 told apart, any NaN equal to any NaN. */
function expectSameValues(got: Float32Array, want: Float32Array): void {
  expect(got.length).toBe(want.length)
  for (let i = 0; i < got.length; i++) {
    if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) expect.fail(`entry ${i}: ${got[i]} vs ${want[i]}`)
  }
}

const smooth = (i: number) => Math.fround(Math.sin(i * 12.9898) * 3)

function run(c: Case, value: (i: number) => number = smooth): void {
  const out = (n: number) => Math.floor((n + 2 * c.pad - c.dilation * (c.k - 1) - 1) / c.stride) + 1
  const outH = out(c.inH)
  const outW = out(c.inW)
  if (outH < 1 || outW < 1) return
  const g = convGeometry([1, c.inH, c.inW], [1, outH, outW], [1, c.k, c.k], [1, c.stride, c.stride], [1, c.dilation, c.dilation], [0, c.pad, c.pad])
  const p: ConvProblem = { batch: c.batch, inChannels: c.inC, outChannels: c.outC, groups: 1, geometry: g }
  if (!useDirectForward(p)) return
  const K = c.inC * c.k * c.k
  const P = outH * outW
  const x = Float32Array.from({ length: c.batch * c.inC * c.inH * c.inW }, (_, i) => value(i))
  const w = Float32Array.from({ length: c.outC * K }, (_, i) => value(i + 1000))
  const bias = c.bias ? Float32Array.from({ length: c.outC }, (_, i) => value(i + 2000)) : undefined
  const got = new Float32Array(c.batch * c.outC * P)
  directForward(x, w, bias, got, p, c.relu)
  const want = new Float32Array(got.length)
  const col = new Float32Array(K * P)
  for (let n = 0; n < c.batch; n++) {
    const y = want.subarray(n * c.outC * P)
    if (bias !== undefined) for (let co = 0; co < c.outC; co++) y.fill(bias[co], co * P, (co + 1) * P)
    im2col(x, n * c.inC * c.inH * c.inW, c.inC, g, col)
    gemmSerial(false, false, c.outC, P, K, 1, w, K, col, P, bias === undefined ? 0 : 1, y, P)
  }
  if (c.relu === true) reluForward(want, want)
  expectSameValues(got, want)
}

/** Mostly ordinary values, with zeros of both signs, infinities, NaN and tiny ones among them. */
function special(seed: number): (i: number) => number {
  const specials = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3e38, -3e38]
  return (i) => {
    const r = Math.abs(Math.sin((i + seed) * 78.233) * 43758.5453) % 1
    return r < 0.3 ? specials[Math.floor(r * 30) % specials.length] : smooth(i + seed)
  }
}

describe("direct forward convolution", () => {
  it("LeNet-5's first layer gives the im2col + GEMM bits", () => {
    run({ batch: 2, inC: 1, outC: 6, inH: 28, inW: 28, k: 5, stride: 1, dilation: 1, pad: 2, bias: true })
    run({ batch: 2, inC: 1, outC: 6, inH: 28, inW: 28, k: 5, stride: 1, dilation: 1, pad: 2, bias: true, relu: true })
  })

  it("gives the im2col + GEMM bits on random small problems (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 2 }),
          inC: fc.integer({ min: 1, max: 3 }),
          outC: fc.integer({ min: 1, max: 8 }),
          inH: fc.integer({ min: 1, max: 9 }),
          inW: fc.integer({ min: 2, max: 11 }),
          k: fc.integer({ min: 1, max: 3 }),
          stride: fc.integer({ min: 1, max: 2 }),
          dilation: fc.integer({ min: 1, max: 2 }),
          pad: fc.integer({ min: 0, max: 2 }),
          bias: fc.boolean(),
          relu: fc.boolean(),
        }),
        (c) => run(c),
      ),
      { numRuns: 150 },
    )
  })

  it("with a fused relu, gives the bits of the output then relu, with infinities, NaN, zeros of both signs (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.constant(1),
          inC: fc.integer({ min: 1, max: 2 }),
          outC: fc.integer({ min: 1, max: 7 }),
          inH: fc.integer({ min: 1, max: 6 }),
          inW: fc.integer({ min: 2, max: 9 }),
          k: fc.integer({ min: 1, max: 3 }),
          stride: fc.constant(1),
          dilation: fc.constant(1),
          pad: fc.integer({ min: 0, max: 1 }),
          bias: fc.boolean(),
          relu: fc.constant(true),
        }),
        fc.nat(1000),
        (c, seed) => run(c, special(seed)),
      ),
      { numRuns: 150 },
    )
  })
})
