/**
 * Direct (no im2col, no GEMM) forward convolution for problems with a tiny reduction
 * length K = C_in/groups * kH * kW, such as LeNet-5's first layer (K = 25, 6 output
 * channels). There im2col + GEMM spends more time copying (im2col, then packing the
 * column matrix again) and on padded rows of the 4-row register tile than multiplying.
 *
 * The register tile here is 6 output channels x 2 adjacent output positions: per tap t,
 * 6 weights and 2 input values, 12 multiply-adds into 12 locals.
 *
 * Bits: every output is computed exactly as the GEMM path computes it (K <= GEMM_KC, so
 * one block): acc = sum over t ascending, in (c, kh, kw) order, of w[co, t] * x[...] in
 * float64 from 0, padding read as 0 from a zero-padded copy (so 0 * w is still added),
 * then y = acc, or y = bias + acc when there is a bias (the GEMM's beta = 1 store).
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { GEMM_KC } from "../gemm/serial.ts"
import { padInput, paddedSizes, positionOffsets, tapOffsets, type ConvGeometry } from "./im2col.ts"
import { reluOf } from "../pointwise/relu.ts"
import type { ConvProblem } from "./problem.ts"

/** Output channels per register tile. */
const CO = 6

/** True when {@link directForward} handles the problem and is expected to beat im2col + GEMM. */
export function useDirectForward(p: ConvProblem): boolean {
  const g = p.geometry
  if (g.kernel[0] !== 1 || g.inSize[0] !== 1 || g.outSize[0] !== 1) return false
  const K = (p.inChannels / p.groups) * g.kernel[1] * g.kernel[2]
  return K <= MAX_K && K <= GEMM_KC && g.outSize[2] >= 2 && Math.ceil(p.outChannels / p.groups / CO) <= MAX_CHUNKS && paddedSize(p) <= MAX_PADDED
}

// Fixed-size module constants (as in gemm.ts): V8 folds their length and data pointer in
// the hot loop. useDirectForward admits only problems that fit.
export const MAX_K = 32
const MAX_CHUNKS = 16
export const MAX_PADDED = 1 << 15
const padded = new Float64Array(MAX_PADDED)
const packedW = new Float64Array(MAX_K * CO * MAX_CHUNKS)
const taps = new Int32Array(MAX_K)

/** Elements of the zero-padded copy of one (sample, group) input. */
function paddedSize(p: ConvProblem): number {
  const [Dp, Hp, Wp] = paddedSizes(p.geometry)
  return (p.inChannels / p.groups) * Dp * Hp * Wp
}

/** y = conv(x, weight) (+ bias), then relu if asked, for a problem accepted by {@link useDirectForward}. */
export function directForward(x: FloatArray, weight: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem, relu = false): void {
  const g = p.geometry
  const [, inH, inW] = g.inSize
  const [, outH, outW] = g.outSize
  const [, kH, kW] = g.kernel
  const [, sH, sW] = g.stride
  const cinG = p.inChannels / p.groups
  const coutG = p.outChannels / p.groups
  const K = cinG * kH * kW
  const P = outH * outW
  const Wp = paddedSizes(g)[2]
  const chunks = Math.ceil(coutG / CO)
  tapOffsets(cinG, g, taps)
  const inPlane = inH * inW
  for (let grp = 0; grp < p.groups; grp++) {
    // weights of this group as [chunk][t][6], channels past coutG zero
    packedW.fill(0)
    for (let co = 0; co < coutG; co++) {
      const chunk = (co / CO) | 0
      const j = co - chunk * CO
      for (let t = 0; t < K; t++) packedW[(chunk * K + t) * CO + j] = weight[(grp * coutG + co) * K + t]
    }
    for (let n = 0; n < p.batch; n++) {
      padInput(x, (n * p.inChannels + grp * cinG) * inPlane, cinG, g, padded)
      for (let chunk = 0; chunk < chunks; chunk++) {
        const co0 = chunk * CO
        const rows = Math.min(CO, coutG - co0)
        const yOff = (n * p.outChannels + grp * coutG + co0) * P
        directRows(K, chunk * K * CO, outH, outW, sH, sW, Wp, rows, bias, grp * coutG + co0, y, yOff, P, relu)
      }
    }
  }
}

/**
 * The tile loop over every output position for one chunk of <= 6 output channels (two
 * 3-channel halves), whose bias (if any) starts at bias[biasOff]. The bias is added as each
 * tile is stored, y = bias + acc: the GEMM path's beta = 1 store onto a bias-filled y, the
 * same bits, without filling y first and reading it back. A fused relu is applied at the
 * same store (each output is stored once), not in a second pass over y: that pass cost
 * LeNet-5's first layer 1.25 of 6.6 ms (bench/conv-lenet.ts).
 */
function directRows(K: number, wOff: number, outH: number, outW: number, sH: number, sW: number, Wp: number, rows: number, bias: FloatArray | undefined, biasOff: number, y: FloatArray, yOff: number, P: number, relu: boolean): void {
  const accumulate = bias !== undefined
  for (let half = 0; half < 2 && half * 3 < rows; half++) {
    const rh = Math.min(3, rows - half * 3)
    // the three channels' biases (unused without a bias)
    const b0 = accumulate ? bias[biasOff + half * 3] : 0
    const b1 = accumulate && rh > 1 ? bias[biasOff + half * 3 + 1] : 0
    const b2 = accumulate && rh > 2 ? bias[biasOff + half * 3 + 2] : 0
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow += 4) {
        const cols = Math.min(4, outW - ow)
        directTile(K, wOff + half * 3, oh * sH * Wp + ow * sW, cols >= 2 ? sW : 0, cols >= 3 ? 2 * sW : 0, cols >= 4 ? 3 * sW : 0)
        const i0 = yOff + half * 3 * P + oh * outW + ow
        const t = tileOut
        if (rh === 3 && cols === 4) {
          // full tile: the same stores, unrolled
          if (relu) {
            // b + t = t without a bias (b = 0), except -0 + 0 = +0, which relu makes anyway
            for (let r = 0, yi = i0, b = b0; r < 12; r += 4, yi += P, b = r === 4 ? b1 : b2) {
              y[yi] = reluOf(b + t[r])
              y[yi + 1] = reluOf(b + t[r + 1])
              y[yi + 2] = reluOf(b + t[r + 2])
              y[yi + 3] = reluOf(b + t[r + 3])
            }
          } else if (accumulate) {
            for (let r = 0, yi = i0, b = b0; r < 12; r += 4, yi += P, b = r === 4 ? b1 : b2) {
              y[yi] = b + t[r]
              y[yi + 1] = b + t[r + 1]
              y[yi + 2] = b + t[r + 2]
              y[yi + 3] = b + t[r + 3]
            }
          } else {
            for (let r = 0, yi = i0; r < 12; r += 4, yi += P) {
              y[yi] = t[r]
              y[yi + 1] = t[r + 1]
              y[yi + 2] = t[r + 2]
              y[yi + 3] = t[r + 3]
            }
          }
          continue
        }
        for (let r = 0; r < rh; r++) {
          const b = r === 0 ? b0 : r === 1 ? b1 : b2
          for (let c = 0; c < cols; c++) {
            const v = accumulate ? b + t[r * 4 + c] : t[r * 4 + c]
            y[i0 + r * P + c] = relu ? reluOf(v) : v
          }
        }
      }
    }
  }
}

/** 3 channels x 4 positions: per tap 3 weights, 4 inputs, 12 multiply-adds. */
function directTile(K: number, wOff: number, b0: number, d1: number, d2: number, d3: number): void {
  const xp = padded
  const w = packedW
  const tp = taps
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0
  let e0 = 0, e1 = 0, e2 = 0, e3 = 0
  let f0 = 0, f1 = 0, f2 = 0, f3 = 0
  for (let t = 0, iw = wOff; t < K; t++, iw += 6) {
    const i = b0 + tp[t]
    const x0 = xp[i]
    const x1 = xp[i + d1]
    const x2 = xp[i + d2]
    const x3 = xp[i + d3]
    let wv = w[iw]
    a0 += wv * x0
    a1 += wv * x1
    a2 += wv * x2
    a3 += wv * x3
    wv = w[iw + 1]
    e0 += wv * x0
    e1 += wv * x1
    e2 += wv * x2
    e3 += wv * x3
    wv = w[iw + 2]
    f0 += wv * x0
    f1 += wv * x1
    f2 += wv * x2
    f3 += wv * x3
  }
  const t = tileOut
  t[0] = a0
  t[1] = a1
  t[2] = a2
  t[3] = a3
  t[4] = e0
  t[5] = e1
  t[6] = e2
  t[7] = e3
  t[8] = f0
  t[9] = f1
  t[10] = f2
  t[11] = f3
}

const tileOut = new Float64Array(12)

/** Largest output plane the packers (and direct-weight.ts) map (Int32Array of offsets). */
export const MAX_P = 1 << 14
/** p -> offset of output position p's window origin in the padded input. */
const positions = new Int32Array(MAX_P)

/**
 * True when {@link im2colPacked} handles the geometry of `p` (2-d or 1-d, fits the
 * padded-copy and position buffers).
 */
export function canIm2colPacked(p: ConvProblem): boolean {
  const g = p.geometry
  if (g.kernel[0] !== 1 || g.inSize[0] !== 1 || g.outSize[0] !== 1) return false
  const K = (p.inChannels / p.groups) * g.kernel[1] * g.kernel[2]
  return K <= 256 && g.outSize[1] * g.outSize[2] <= MAX_P && paddedSize(p) <= MAX_PADDED
}

/** Tap offsets (as `taps`, any K <= 256) for im2colPacked. */
const packTaps = new Int32Array(256)

/** The tap and position tables and the zero-padded copy that the two packers read windows from. */
function padWindows(x: FloatArray, xOff: number, channels: number, g: ConvGeometry): void {
  tapOffsets(channels, g, packTaps)
  positionOffsets(g, positions)
  padInput(x, xOff, channels, g, padded)
}

/**
 * im2col of `channels` channels at `xOff` written straight into gemm's packed-B layout
 * (prepackedB in gemm.ts): entry (t, j) of the column matrix (K rows, P columns) goes to
 * ((j / 3 | 0) * K + t) * 3 + j % 3, the last panel's columns past P are 0. Same values
 * as im2col (read from a zero-padded copy, so padding is 0); saves gemm's packing copy.
 */
export function im2colPacked(x: FloatArray, xOff: number, channels: number, p: ConvProblem, out: Float64Array): void {
  const g = p.geometry
  const K = channels * g.kernel[1] * g.kernel[2]
  const P = g.outSize[1] * g.outSize[2]
  padWindows(x, xOff, channels, g)
  const tp = packTaps
  const pos = positions
  const xp = padded
  const kW = g.kernel[2]
  // unit dilation along W: a kernel row's taps are consecutive inputs (packSlidingRuns)
  const unitDilation = g.dilation[2] === 1
  let o = 0
  for (let j = 0; j < P; j += 3) {
    const b0 = pos[j]
    if (j + 3 <= P) {
      const b1 = pos[j + 1]
      const b2 = pos[j + 2]
      if (unitDilation && b1 === b0 + 1 && b2 === b0 + 2) {
        o = packSlidingRuns(xp, tp, b0, K, kW, out, o)
        continue
      }
      for (let t = 0; t < K; t++, o += 3) {
        const off = tp[t]
        out[o] = xp[b0 + off]
        out[o + 1] = xp[b1 + off]
        out[o + 2] = xp[b2 + off]
      }
    } else {
      const cols = P - j
      for (let t = 0; t < K; t++, o += 3) {
        const off = tp[t]
        out[o] = xp[b0 + off]
        out[o + 1] = cols >= 2 ? xp[pos[j + 1] + off] : 0
        out[o + 2] = 0
      }
    }
  }
}

/**
 * Panels of gemm's packed B whose three columns read consecutive inputs: for each run start
 * r = starts[i] + base (i = 0, run, 2 run, ... < end), the panel rows xp[r + k], xp[r + k + 1],
 * xp[r + k + 2] for k < run, each input loaded once and shifted through three locals instead
 * of loaded three times. im2colPacked uses it for three adjacent positions (b0, b0 + 1,
 * b0 + 2), with runs = kernel rows of taps, which needs unit dilation along W; im2colPackedT
 * for three adjacent taps (o0, o0 + 1, o0 + 2), with runs = output rows of positions, which
 * needs unit stride along W. Returns the next output index.
 */
function packSlidingRuns(xp: Float64Array, starts: Int32Array, base: number, end: number, run: number, out: Float64Array, o: number): number {
  for (let i = 0; i < end; i += run) {
    const r = starts[i] + base
    let v0 = xp[r]
    let v1 = xp[r + 1]
    for (let k = 0; k < run; k++, o += 3) {
      const v2 = xp[r + k + 2]
      out[o] = v0
      out[o + 1] = v1
      out[o + 2] = v2
      v0 = v1
      v1 = v2
    }
  }
  return o
}

/**
 * The transposed column matrix col^T (P rows, K columns) in gemm's packed-B layout, for
 * the weight gradient gw += gy col^T: entry (j, t) goes to ((t / 3 | 0) * P + j) * 3 + t % 3,
 * the last panel's columns past K are 0. Same values as im2col, transposed. With a tap
 * range [t0, t1), only those columns are written, as columns 0 .. t1 - t0 - 1.
 */
export function im2colPackedT(x: FloatArray, xOff: number, channels: number, p: ConvProblem, out: Float64Array, t0 = 0, t1 = Infinity): void {
  const g = p.geometry
  const K = channels * g.kernel[1] * g.kernel[2]
  const P = g.outSize[1] * g.outSize[2]
  padWindows(x, xOff, channels, g)
  const tp = packTaps
  const pos = positions
  const xp = padded
  let o = 0
  const tEnd = Math.min(K, t1)
  const outW = g.outSize[2]
  // unit stride along W: an output row's positions are consecutive inputs (packSlidingRuns)
  const unitStride = g.stride[2] === 1
  for (let t = t0; t < tEnd; t += 3) {
    const o0 = tp[t]
    if (t + 3 <= tEnd) {
      const o1 = tp[t + 1]
      const o2 = tp[t + 2]
      if (unitStride && o1 === o0 + 1 && o2 === o0 + 2) {
        o = packSlidingRuns(xp, pos, o0, P, outW, out, o)
        continue
      }
      for (let j = 0; j < P; j++, o += 3) {
        const b = pos[j]
        out[o] = xp[b + o0]
        out[o + 1] = xp[b + o1]
        out[o + 2] = xp[b + o2]
      }
    } else {
      const cols = tEnd - t
      const o1 = cols >= 2 ? tp[t + 1] : 0
      for (let j = 0; j < P; j++, o += 3) {
        const b = pos[j]
        out[o] = xp[b + o0]
        out[o + 1] = cols >= 2 ? xp[b + o1] : 0
        out[o + 2] = 0
      }
    }
  }
}
