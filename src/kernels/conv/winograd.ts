/**
 * Winograd F(2x2, 5x5) forward convolution for float32 5x5 stride-1 layers with a few
 * channels on each side, such as LeNet-5's second layer (6 -> 16 channels, 14x14 -> 10x10).
 *
 * Each 2x2 block of outputs ("tile") of one output channel is
 *
 *   Y = A^T [ sum over ci of (G g G^T) (.) (B^T d B) ] A
 *
 * with d the 6x6 input patch under the tile, g the 5x5 filter, (.) the elementwise product,
 * and the Cook-Toom matrices of the points 0, 1, -1, 2, -2, infinity (derived in exact
 * rational arithmetic; the test checks the identity they must satisfy):
 *
 *   B^T = [ 4  0 -5  0  1  0 ]    G = [  1/4    0     0     0    0  ]    A^T = [ 1 1  1 1  1 0 ]
 *         [ 0 -4 -4  1  1  0 ]        [ -1/6 -1/6  -1/6  -1/6 -1/6 ]          [ 0 1 -1 2 -2 1 ]
 *         [ 0  4 -4 -1  1  0 ]        [ -1/6  1/6  -1/6   1/6 -1/6 ]
 *         [ 0 -2 -1  2  1  0 ]        [ 1/24 1/12   1/6   1/3  2/3 ]
 *         [ 0  2 -1 -2  1  0 ]        [ 1/24 -1/12  1/6  -1/3  2/3 ]
 *         [ 0  4  0 -5  0  1 ]        [   0    0     0     0    1  ]
 *
 * Per input channel and tile the products take 36 multiply-adds per output channel against
 * the 100 of the direct sum (4 outputs x 25 taps); the transforms add 240 operations per
 * (input channel, tile) and 72 per (output channel, tile), shared across the other side's
 * channels. LeNet-5's second layer: about half the floating-point operations of im2col + GEMM.
 * Output channels are padded to a multiple of 4 with zero filters.
 *
 * Forward passes only. An input gradient is a forward pass over gy padded by 4 - padding,
 * and there the tiles cover that padding: LeNet-5's second layer would take 36 x 8 x 16 x 49
 * = 226k products per sample (6 channels padded to 8, 7x7 tiles) against the 240k of the
 * direct sum, plus transforms of 16 channels; no gain.
 *
 * Numerics: everything runs in float64 on float32 data. The transforms' error is then
 * ~1e-15 relative to the size of the terms, far below float32's rounding step, so the
 * float32 result is the correctly rounded sum in all but rare near-tie cases, where it may
 * differ from the direct sum by one unit in the last place (on random LeNet data: 0 of
 * 102,400 outputs, a test). Float64 data keeps the direct path (there the transforms' error would
 * be visible). Each sample's result depends only on that sample, so splitting a batch
 * across threads gives the same bits.
 */
import { padInput } from "./im2col.ts"
import { reluOf } from "../pointwise/relu.ts"
import type { ConvProblem } from "./problem.ts"

/** Tile blocks hold this many (channel, tile) pairs per transform position. */
const BLOCK = 1024
// Fixed-size module constants, as in gemm.ts: V8 folds their length and data pointer
// into the hot loops. `useWinograd` admits only problems that fit.
const MAX_PADDED = 1 << 16
const MAX_WEIGHTS = 36 * 64 * 64
/** Zero-padded copy of one (sample, group) input, planes of (2 tilesH + 4) x (2 tilesW + 4). */
const padded = new Float64Array(MAX_PADDED)
/** Transformed filters, [xi][ci][co] (xi = 6 i + k, the 36 transform positions). */
const U = new Float64Array(MAX_WEIGHTS)
/** Transformed input of a block of tiles, [xi][ci][t]. */
const V = new Float64Array(36 * BLOCK)
/** Products of a block, [xi][co][t]. */
const M = new Float64Array(36 * BLOCK)
const tmp = new Float64Array(36)

/** Output channels rounded up to the products' 4-channel register tile (the extra ones zero). */
const padChannels = (coutG: number): number => Math.ceil(coutG / 4) * 4

/** Tiles per block: a multiple of 3 (the products' register tile), as many as fit. */
function blockTiles(cinG: number, coutG: number, tiles: number): number {
  const fit = Math.floor(BLOCK / Math.max(cinG, coutG) / 3) * 3
  return Math.min(fit, Math.ceil(tiles / 3) * 3)
}

/**
 * True when {@link winogradForward} handles `p` for float32 data and is expected to beat
 * im2col + GEMM: 2-d, 5x5 kernel, stride 1, dilation 1, at least 4 channels in and out
 * per group (fewer and the transforms outweigh the saved products, as in LeNet-5's first
 * layer), within the module buffers.
 */
export function useWinograd(p: ConvProblem): boolean {
  const g = p.geometry
  if (g.kernel[0] !== 1 || g.inSize[0] !== 1 || g.outSize[0] !== 1) return false
  if (g.kernel[1] !== 5 || g.kernel[2] !== 5 || g.stride[1] !== 1 || g.stride[2] !== 1 || g.dilation[1] !== 1 || g.dilation[2] !== 1) return false
  const cinG = p.inChannels / p.groups
  const coutG = p.outChannels / p.groups
  if (cinG < 4 || coutG < 4 || 36 * cinG * padChannels(coutG) * p.groups > MAX_WEIGHTS) return false
  const [, outH, outW] = g.outSize
  if (outH < 2 || outW < 2 || blockTiles(cinG, padChannels(coutG), 1) < 3) return false
  return cinG * (2 * Math.ceil(outH / 2) + 4) * (2 * Math.ceil(outW / 2) + 4) <= MAX_PADDED
}

/**
 * y = conv(x, weight) (+ bias), then relu if asked, for float32 x, weight, bias and y and a
 * problem accepted by {@link useWinograd}. Bias and relu are applied as each output is
 * stored: y = bias + acc, the im2col + GEMM path's beta = 1 store onto a bias-filled y.
 *
 * Infinities and NaN: the transforms mix every element of a 6x6 patch into all four of
 * its tile's outputs (inf - inf = NaN), where the direct sum keeps an output finite when
 * its own window is. So a sample holding a non-finite value is handed to `direct(n)`, and
 * false is returned, nothing written, when a filter holds one (the caller then runs the
 * direct path on the whole batch). Finite data cannot overflow in float64.
 */
export function winogradForward(x: Float32Array, weight: Float32Array, bias: Float32Array | undefined, y: Float32Array, p: ConvProblem, relu: boolean, direct: (n: number) => void): boolean {
  if (!allFinite(weight, 0, p.outChannels * (p.inChannels / p.groups) * 25)) return false
  const g = p.geometry
  const [, inH, inW] = g.inSize
  const [, outH, outW] = g.outSize
  const cinG = p.inChannels / p.groups
  const coutG = p.outChannels / p.groups
  const tilesH = Math.ceil(outH / 2)
  const tilesW = Math.ceil(outW / 2)
  const tiles = tilesH * tilesW
  const rowLength = 2 * tilesW + 4
  // one zero row and column more than the input's padding when the output size is odd
  const planeSizes = [1, 2 * tilesH + 4, rowLength] as const
  const plane = planeSizes[1] * rowLength
  const coutP = padChannels(coutG)
  const block = blockTiles(cinG, coutP, tiles)
  const P = outH * outW
  const sampleIn = p.inChannels * inH * inW
  const filters = 36 * cinG * coutP
  for (let grp = 0; grp < p.groups; grp++) transformFilters(weight, grp * coutG * cinG * 25, cinG, coutG, coutP, grp * filters)
  for (let n = 0; n < p.batch; n++) {
    if (!allFinite(x, n * sampleIn, sampleIn)) {
      direct(n)
      continue
    }
    for (let grp = 0; grp < p.groups; grp++) {
      padInput(x, n * sampleIn + grp * cinG * inH * inW, cinG, g, padded, planeSizes)
      const yOff = (n * p.outChannels + grp * coutG) * P
      for (let t0 = 0; t0 < tiles; t0 += block) {
        const count = Math.min(block, tiles - t0)
        transformInput(cinG, t0, count, block, tilesW, rowLength, plane)
        multiply(cinG, coutP, block, Math.ceil(count / 3) * 3, grp * filters)
        transformOutput(coutG, coutP, t0, count, block, tilesW, outH, outW, y, yOff, bias, grp * coutG, relu)
      }
    }
  }
  return true
}

/** True when a[off .. off + length) holds no infinity and no NaN (x - x is 0 just for finite x). */
function allFinite(a: Float32Array, off: number, length: number): boolean {
  let s = 0
  for (let i = off, end = off + length; i < end; i++) s += a[i] - a[i]
  return s === 0
}

/**
 * U[uOff + [xi][ci][co]] = (G g G^T)[i][k] for the filters of one group (g = weight[co][ci]),
 * rows of coutP channels, those from coutG on zero.
 */
function transformFilters(w: Float32Array, wOff: number, cinG: number, coutG: number, coutP: number, uOff: number): void {
  U.fill(0, uOff, uOff + 36 * cinG * coutP)
  for (let co = 0; co < coutG; co++) {
    for (let ci = 0; ci < cinG; ci++) {
      const off = wOff + (co * cinG + ci) * 25
      // G g: 6 x 5, G against each filter column b; then (G g) G^T, G against each row i
      for (let b = 0; b < 5; b++) filterCombinations(w[off + b], w[off + 5 + b], w[off + 10 + b], w[off + 15 + b], w[off + 20 + b], tmp, b, 5)
      const step = cinG * coutP
      for (let i = 0; i < 6; i++) {
        const r = i * 5
        filterCombinations(tmp[r], tmp[r + 1], tmp[r + 2], tmp[r + 3], tmp[r + 4], U, uOff + (i * 6 * cinG + ci) * coutP + co, step)
      }
    }
  }
}

/** out[o + k * step] = row k of G times (g0 .. g4), k = 0 .. 5. */
function filterCombinations(g0: number, g1: number, g2: number, g3: number, g4: number, out: Float64Array, o: number, step: number): void {
  out[o] = g0 / 4
  out[o + step] = -(g0 + g1 + g2 + g3 + g4) / 6
  out[o + 2 * step] = -(g0 - g1 + g2 - g3 + g4) / 6
  out[o + 3 * step] = (g0 + 2 * g1 + 4 * g2 + 8 * g3 + 16 * g4) / 24
  out[o + 4 * step] = (g0 - 2 * g1 + 4 * g2 - 8 * g3 + 16 * g4) / 24
  out[o + 5 * step] = g4
}

/** V[xi][ci][t - t0] = (B^T d B)[i][k] for tiles t0 .. t0 + count of every channel. */
function transformInput(cinG: number, t0: number, count: number, block: number, tilesW: number, rowLength: number, plane: number): void {
  const stride = cinG * block
  const R = rowLength
  for (let ci = 0; ci < cinG; ci++) {
    for (let j = 0; j < count; j++) {
      const t = t0 + j
      const th = (t / tilesW) | 0
      const base = ci * plane + 2 * th * R + 2 * (t - th * tilesW)
      // B^T d down each of the patch's 6 columns, then (B^T d) B along each row
      for (let c = 0; c < 6; c++) {
        const o = base + c
        inputCombinations(padded[o], padded[o + R], padded[o + 2 * R], padded[o + 3 * R], padded[o + 4 * R], padded[o + 5 * R], tmp, c, 6)
      }
      for (let i = 0, v = ci * block + j; i < 6; i++, v += 6 * stride) {
        const r = i * 6
        inputCombinations(tmp[r], tmp[r + 1], tmp[r + 2], tmp[r + 3], tmp[r + 4], tmp[r + 5], V, v, stride)
      }
    }
  }
}

/** out[o + k * step] = row k of B^T times (d0 .. d5), k = 0 .. 5. */
function inputCombinations(d0: number, d1: number, d2: number, d3: number, d4: number, d5: number, out: Float64Array, o: number, step: number): void {
  const a = d4 - 4 * d2
  const b = d3 - 4 * d1
  const e = d4 - d2
  const f = 2 * (d3 - d1)
  out[o] = 4 * d0 - 5 * d2 + d4
  out[o + step] = a + b
  out[o + 2 * step] = a - b
  out[o + 3 * step] = e + f
  out[o + 4 * step] = e - f
  out[o + 5 * step] = 4 * d1 - 5 * d3 + d5
}

/**
 * M[xi][co][t] = sum over ci ascending of U[uOff + [xi][ci][co]] V[xi][ci][t]: 36 products of
 * (coutP x cinG) by (cinG x used) of rows `block` long, in 4-channel x 3-tile register
 * tiles; `used` is the block's tile count rounded up to 3. Tiles past the count multiply
 * whatever V holds there; their M is never read.
 */
function multiply(cinG: number, coutP: number, block: number, used: number, uOff: number): void {
  const uStep = cinG * coutP
  for (let xi = 0; xi < 36; xi++) {
    const uo = uOff + xi * uStep
    const vo = xi * cinG * block
    const mo = xi * coutP * block
    for (let co = 0; co < coutP; co += 4) {
      for (let t = 0; t < used; t += 3) {
        let a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0, c0 = 0, c1 = 0, c2 = 0, d0 = 0, d1 = 0, d2 = 0
        for (let ci = 0, u = uo + co, v = vo + t; ci < cinG; ci++, u += coutP, v += block) {
          const v0 = V[v]
          const v1 = V[v + 1]
          const v2 = V[v + 2]
          let w = U[u]
          a0 += w * v0
          a1 += w * v1
          a2 += w * v2
          w = U[u + 1]
          b0 += w * v0
          b1 += w * v1
          b2 += w * v2
          w = U[u + 2]
          c0 += w * v0
          c1 += w * v1
          c2 += w * v2
          w = U[u + 3]
          d0 += w * v0
          d1 += w * v1
          d2 += w * v2
        }
        const m = mo + co * block + t
        M[m] = a0
        M[m + 1] = a1
        M[m + 2] = a2
        M[m + block] = b0
        M[m + block + 1] = b1
        M[m + block + 2] = b2
        M[m + 2 * block] = c0
        M[m + 2 * block + 1] = c1
        M[m + 2 * block + 2] = c2
        M[m + 3 * block] = d0
        M[m + 3 * block + 1] = d1
        M[m + 3 * block + 2] = d2
      }
    }
  }
}

/**
 * y's 2x2 blocks for tiles t0 .. t0 + count of every output channel: A^T M A, then
 * bias + acc and relu at the store; a last row or column past an odd output size is dropped.
 */
function transformOutput(coutG: number, coutP: number, t0: number, count: number, block: number, tilesW: number, outH: number, outW: number, y: Float32Array, yOff: number, bias: Float32Array | undefined, biasOff: number, relu: boolean): void {
  const S = coutP * block
  const S6 = 6 * S
  const P = outH * outW
  const accumulate = bias !== undefined
  for (let co = 0; co < coutG; co++) {
    const b = accumulate ? bias[biasOff + co] : 0
    for (let j = 0; j < count; j++) {
      // A^T M down each column k (rows 0 and 1 of the result into tmp), then A along them
      for (let k = 0, o = co * block + j; k < 6; k++, o += S) {
        outputCombinations(M[o], M[o + S6], M[o + 2 * S6], M[o + 3 * S6], M[o + 4 * S6], M[o + 5 * S6], tmp, k, 6)
      }
      outputCombinations(tmp[0], tmp[1], tmp[2], tmp[3], tmp[4], tmp[5], tmp, 12, 1)
      outputCombinations(tmp[6], tmp[7], tmp[8], tmp[9], tmp[10], tmp[11], tmp, 14, 1)
      let y00 = tmp[12]
      let y01 = tmp[13]
      let y10 = tmp[14]
      let y11 = tmp[15]
      if (accumulate) {
        // bias + acc, the GEMM path's beta = 1 store (without a bias, acc as it is: 0 + -0 is +0)
        y00 = b + y00
        y01 = b + y01
        y10 = b + y10
        y11 = b + y11
      }
      if (relu) {
        y00 = reluOf(y00)
        y01 = reluOf(y01)
        y10 = reluOf(y10)
        y11 = reluOf(y11)
      }
      const t = t0 + j
      const th = (t / tilesW) | 0
      const oh = 2 * th
      const ow = 2 * (t - th * tilesW)
      const yo = yOff + co * P + oh * outW + ow
      if (oh + 1 < outH && ow + 1 < outW) {
        y[yo] = y00
        y[yo + 1] = y01
        y[yo + outW] = y10
        y[yo + outW + 1] = y11
      } else {
        y[yo] = y00
        if (ow + 1 < outW) y[yo + 1] = y01
        if (oh + 1 < outH) y[yo + outW] = y10
        if (oh + 1 < outH && ow + 1 < outW) y[yo + outW + 1] = y11
      }
    }
  }
}

/** out[o], out[o + step] = the two rows of A^T times (m0 .. m5). */
function outputCombinations(m0: number, m1: number, m2: number, m3: number, m4: number, m5: number, out: Float64Array, o: number, step: number): void {
  out[o] = m0 + m1 + m2 + m3 + m4
  out[o + step] = m1 - m2 + 2 * (m3 - m4) + m5
}
