/**
 * Direct weight gradient (no im2col, no GEMM) for the problems direct.ts's forward
 * takes: a tiny reduction K = C_in/groups * kH * kW, such as LeNet-5's first layer (K = 25,
 * 6 output channels, 784 positions per sample). gw[co, t] = sum over samples and positions p
 * of gy[n, co, p] * x[window of p, tap t], read from a zero-padded float64 copy of each sample.
 *
 * Two register tiles:
 * - a whole kernel row: 2 output channels x the 5 taps of one row of a 5-wide kernel, when
 *   stride and dilation along W are 1. Consecutive positions of an output row then read
 *   consecutive inputs, so each position loads 2 gy values and 1 new input (the other four
 *   shift through locals): 3 loads for 10 multiply-adds.
 * - otherwise 6 output channels x 2 taps: 6 gy values, a position offset and 2 inputs for 12.
 *
 * Bits: as the GEMM path (gw_g += gy[n, g] col^T per sample, col = im2col(x[n, g])):
 * for each sample n in order and each block of GEMM_KC output positions p in order,
 * acc = sum over the block, ascending p, of gy[n, co, p] * col[t, p] in float64 from 0,
 * then gw = acc for the very first block of sample 0, else gw = gw + acc (stored, so
 * rounded to gw's dtype, after every block). Both tiles follow it, so which one computes
 * an element does not change its bits.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { MAX_K, MAX_P, MAX_PADDED, useDirectForward } from "./direct.ts"
import { GEMM_KC } from "../gemm/serial.ts"
import { padInput, positionOffsets, tapOffsets } from "./im2col.ts"
import type { ConvProblem } from "./problem.ts"

/** Output channels per chunk of the 6 x 2 tile. */
const CO = 6
/** Kernel width of the kernel-row tile. */
const ROW = 5

// Fixed-size module constants, as in gemm/serial.ts and direct.ts (V8 folds their length and
// data pointer in the hot loops); useDirectBackwardWeight admits only problems that fit.
const padded = new Float64Array(MAX_PADDED)
const taps = new Int32Array(MAX_K)
/** p -> offset of output position p's window origin in the padded input. */
const positions = new Int32Array(MAX_P)
/** The last tile's sums: [channel][tap], 2 taps per channel (6 x 2) or 5 (2 x 5). */
const tileW = new Float64Array(12)

/** True when {@link directBackwardWeight} handles the problem (same family as the forward). */
export function useDirectBackwardWeight(p: ConvProblem): boolean {
  return useDirectForward(p) && p.geometry.outSize[1] * p.geometry.outSize[2] <= MAX_P
}

/**
 * gw rows [c0, c1) of every group's block = the weight gradient, summed over the batch (bits:
 * see the header). Only taps [t0, t1) of each row are computed when given; each element's
 * order is the same whatever the ranges, so the bits are too.
 */
export function directBackwardWeight(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem, c0: number, c1: number, t0 = 0, t1 = Infinity): void {
  const w = weightLayout(p)
  fillOffsetTables(p)
  const tEnd = Math.min(w.K, t1)
  // The sums go to this thread's own copy of gw, copied out at the end: were threads to
  // share a layer by taps, both would otherwise store into the same cache lines (LeNet's
  // conv1: rows of 25 floats) after every block of every sample.
  const own = ownCopy(gw)
  for (let grp = 0; grp < p.groups; grp++) {
    for (let n = 0; n < p.batch; n++) {
      padSample(x, p, n, grp)
      for (let b = 0; b < w.blocks; b++) {
        weightBlock(gy, p, w, n, grp, b, c0, c1, t0, tEnd, own, grp * w.coutG * w.K, n > 0 || b > 0)
      }
    }
  }
  for (let grp = 0; grp < p.groups; grp++) {
    for (let co = c0; co < c1; co++) {
      const row = (grp * w.coutG + co) * w.K
      gw.set(own.subarray(row + t0, row + tEnd), row + t0)
    }
  }
}

/**
 * Length of the partial sums {@link directWeightPartials} writes for a batch: one block of
 * sums (every output channel and tap) per sample and GEMM_KC-block of positions.
 */
export function weightPartialsLength(p: ConvProblem): number {
  const w = weightLayout(p)
  return p.batch * w.blocks * p.outChannels * w.K
}

/**
 * The sum over each block of positions of samples [n0, n1), unreduced: for sample n and
 * block b, partials[((n * blocks + b) * C_out + co) * K + t] (n counted from 0 for the whole
 * batch). How threads share the weight gradient by samples: each computes its samples'
 * sums, then {@link reduceWeightPartials} adds them in the one order (same bits as
 * {@link directBackwardWeight}).
 */
export function directWeightPartials(gy: FloatArray, x: FloatArray, partials: Float64Array, p: ConvProblem, n0: number, n1: number): void {
  const w = weightLayout(p)
  fillOffsetTables(p)
  for (let grp = 0; grp < p.groups; grp++) {
    for (let n = n0; n < n1; n++) {
      padSample(x, p, n, grp)
      for (let b = 0; b < w.blocks; b++) {
        const off = ((n * w.blocks + b) * p.outChannels + grp * w.coutG) * w.K
        weightBlock(gy, p, w, n, grp, b, 0, w.coutG, 0, w.K, partials, off, false)
      }
    }
  }
}

/** gw = the partials of every sample and block summed in order, rounded to gw's dtype after each. */
export function reduceWeightPartials(partials: Float64Array, gw: FloatArray, p: ConvProblem): void {
  const w = weightLayout(p)
  const size = p.outChannels * w.K
  const count = p.batch * w.blocks
  for (let i = 0; i < size; i++) gw[i] = partials[i]
  for (let j = 1; j < count; j++) {
    const off = j * size
    for (let i = 0; i < size; i++) gw[i] += partials[off + i]
  }
}

/** Sizes of the weight-gradient problem and the tables of the padded input. */
interface WeightLayout {
  readonly coutG: number
  readonly K: number
  readonly P: number
  readonly outW: number
  readonly blocks: number
  /** The kernel-row tile applies: a 5-wide kernel, unit stride and dilation along W. */
  readonly slide: boolean
}

/** The layout of `p`. */
function weightLayout(p: ConvProblem): WeightLayout {
  const g = p.geometry
  const [, outH, outW] = g.outSize
  const [, kH, kW] = g.kernel
  const cinG = p.inChannels / p.groups
  const P = outH * outW
  return {
    coutG: p.outChannels / p.groups,
    K: cinG * kH * kW,
    P,
    outW,
    blocks: Math.ceil(P / GEMM_KC),
    slide: kW === ROW && g.stride[2] === 1 && g.dilation[2] === 1,
  }
}

/** `taps` and `positions` for `p`: the offsets the tiles read the padded input at. */
function fillOffsetTables(p: ConvProblem): void {
  tapOffsets(p.inChannels / p.groups, p.geometry, taps)
  positionOffsets(p.geometry, positions)
}

/** The zero-padded copy of sample n's group grp channels into `padded`. */
function padSample(x: FloatArray, p: ConvProblem, n: number, grp: number): void {
  const cinG = p.inChannels / p.groups
  const [, inH, inW] = p.geometry.inSize
  padInput(x, (n * p.inChannels + grp * cinG) * inH * inW, cinG, p.geometry, padded)
}

/**
 * Block b of sample n (already in `padded`), channels [c0, c1) and taps [t0, tEnd) of group
 * grp: dst[off + co * K + t] = (or += when `add`) the block's sum.
 */
function weightBlock(gy: FloatArray, p: ConvProblem, w: WeightLayout, n: number, grp: number, b: number, c0: number, c1: number, t0: number, tEnd: number, dst: FloatArray, off: number, add: boolean): void {
  const block: Block = { pb: b * GEMM_KC, pe: Math.min(w.P, (b + 1) * GEMM_KC), add }
  const gyOff = (n * p.outChannels + grp * w.coutG) * w.P
  let t = t0
  while (t < tEnd) {
    if (w.slide && t % ROW === 0 && t + ROW <= tEnd) {
      kernelRow(gy, gyOff, w.P, w.outW, dst, off, w.K, t, c0, c1, block)
      t += ROW
    } else {
      // up to the next kernel row the row tile can take, two taps at a time
      const cols = Math.min(2, tEnd - t, w.slide ? ROW - (t % ROW) : 2)
      tapPair(gy, gyOff, w.P, dst, off, w.K, t, cols, c0, c1, block)
      t += cols
    }
  }
}

let own32 = new Float32Array(0)
let own64 = new Float64Array(0)

/** A thread-local scratch array of gw's dtype and length (contents undefined). */
function ownCopy(gw: FloatArray): FloatArray {
  if (gw instanceof Float64Array) {
    if (own64.length < gw.length) own64 = new Float64Array(gw.length)
    return own64.subarray(0, gw.length)
  }
  if (own32.length < gw.length) own32 = new Float32Array(gw.length)
  return own32.subarray(0, gw.length)
}

/** Positions [pb, pe) of one sample; `add` when the sums are added to the destination. */
interface Block {
  readonly pb: number
  readonly pe: number
  readonly add: boolean
}

/** gw (+)= the block's sums in tileW, `rows` channels x `cols` taps, tileW row stride `stride`. */
function storeTile(gw: FloatArray, gwOff: number, K: number, rows: number, cols: number, stride: number, add: boolean): void {
  const tw = tileW
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = gwOff + r * K + c
      if (add) gw[i] += tw[r * stride + c]
      else gw[i] = tw[r * stride + c]
    }
  }
}

/** Taps t .. t + cols - 1 (cols <= 2), channels [c0, c1), one block: the 6 x 2 tiles. */
function tapPair(gy: FloatArray, gyOff: number, P: number, gw: FloatArray, gwOff: number, K: number, t: number, cols: number, c0: number, c1: number, b: Block): void {
  const off0 = taps[t]
  const off1 = cols === 2 ? taps[t + 1] : off0
  for (let co0 = c0; co0 < c1; co0 += CO) {
    const rows = Math.min(CO, c1 - co0)
    if (rows === CO) weightTile6(gy, gyOff + co0 * P, P, b.pb, b.pe, off0, off1)
    else weightTileAny(gy, gyOff + co0 * P, P, b.pb, b.pe, off0, off1, rows)
    storeTile(gw, gwOff + co0 * K + t, K, rows, cols, 2, b.add)
  }
}

/** The ROW taps from t (one kernel row), channels [c0, c1), one block: the 2 x 5 tiles. */
function kernelRow(gy: FloatArray, gyOff: number, P: number, outW: number, gw: FloatArray, gwOff: number, K: number, t: number, c0: number, c1: number, b: Block): void {
  for (let co = c0; co < c1; co += 2) {
    const rows = Math.min(2, c1 - co)
    // a lone last channel reads its own gy twice; the second row is not stored
    rowTile(gy, gyOff + co * P, rows === 2 ? P : 0, outW, taps[t], b.pb, b.pe)
    storeTile(gw, gwOff + co * K + t, K, rows, ROW, ROW, b.add)
  }
}

/**
 * 2 channels (gy at gi and gi + d) x 5 adjacent taps from tap offset `off`, over positions
 * [pb, pe) in order: along each output row the five inputs slide by one per position.
 */
function rowTile(gy: FloatArray, gyOff: number, d: number, outW: number, off: number, pb: number, pe: number): void {
  const xp = padded
  const pos = positions
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0
  let e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0
  for (let q = pb; q < pe; ) {
    // the rest of q's output row within the block
    const end = Math.min(pe, q - (q % outW) + outW)
    let i = pos[q] + off
    let x0 = xp[i]
    let x1 = xp[i + 1]
    let x2 = xp[i + 2]
    let x3 = xp[i + 3]
    for (let gi = gyOff + q, ge = gyOff + end; gi < ge; gi++, i++) {
      const x4 = xp[i + 4]
      const u = gy[gi]
      const v = gy[gi + d]
      a0 += u * x0
      a1 += u * x1
      a2 += u * x2
      a3 += u * x3
      a4 += u * x4
      e0 += v * x0
      e1 += v * x1
      e2 += v * x2
      e3 += v * x3
      e4 += v * x4
      x0 = x1
      x1 = x2
      x2 = x3
      x3 = x4
    }
    q = end
  }
  const t = tileW
  t[0] = a0
  t[1] = a1
  t[2] = a2
  t[3] = a3
  t[4] = a4
  t[5] = e0
  t[6] = e1
  t[7] = e2
  t[8] = e3
  t[9] = e4
}

/** 6 channels x 2 taps over positions [pb, pe): per position 6 gy values, 2 inputs, 12 multiply-adds. */
function weightTile6(gy: FloatArray, gyOff: number, P: number, pb: number, pe: number, off0: number, off1: number): void {
  const xp = padded
  const pos = positions
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0
  let e0 = 0, e1 = 0, e2 = 0, e3 = 0, e4 = 0, e5 = 0
  for (let q = pb, gi = gyOff + pb; q < pe; q++, gi++) {
    const o = pos[q]
    const x0 = xp[o + off0]
    const x1 = xp[o + off1]
    let gv = gy[gi]
    a0 += gv * x0
    e0 += gv * x1
    gv = gy[gi + P]
    a1 += gv * x0
    e1 += gv * x1
    gv = gy[gi + 2 * P]
    a2 += gv * x0
    e2 += gv * x1
    gv = gy[gi + 3 * P]
    a3 += gv * x0
    e3 += gv * x1
    gv = gy[gi + 4 * P]
    a4 += gv * x0
    e4 += gv * x1
    gv = gy[gi + 5 * P]
    a5 += gv * x0
    e5 += gv * x1
  }
  const t = tileW
  t[0] = a0
  t[1] = e0
  t[2] = a1
  t[3] = e1
  t[4] = a2
  t[5] = e2
  t[6] = a3
  t[7] = e3
  t[8] = a4
  t[9] = e4
  t[10] = a5
  t[11] = e5
}

/** {@link weightTile6} for fewer than 6 channels (the last chunk). */
function weightTileAny(gy: FloatArray, gyOff: number, P: number, pb: number, pe: number, off0: number, off1: number, rows: number): void {
  const xp = padded
  const pos = positions
  for (let r = 0; r < rows; r++) {
    let a = 0
    let e = 0
    for (let q = pb, gi = gyOff + r * P + pb; q < pe; q++, gi++) {
      const o = pos[q]
      const gv = gy[gi]
      a += gv * xp[o + off0]
      e += gv * xp[o + off1]
    }
    tileW[r * 2] = a
    tileW[r * 2 + 1] = e
  }
}

