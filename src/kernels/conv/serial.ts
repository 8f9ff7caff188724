/**
 * Convolution kernels (N-d, grouped) as im2col + GEMM, and the two backward products.
 * Layouts are PyTorch's: x (N, C_in, *in), weight (C_out, C_in/groups, *k), y (N, C_out, *out).
 *
 * Per sample n and group g, with Wg the (C_out/g) x (C_in/g * k) block of weight, and
 * col = im2col(x[n, group g channels]) of (C_in/g * k) x P:
 *
 *   forward          y[n, g]  = Wg col                  (+ bias, fused as the initial C)
 *   backward input   gx[n, g] = col2im(Wg^T gy[n, g])
 *   backward weight  gWg     += gy[n, g] col^T          (summed over n in order)
 *
 * A 1x1 kernel with stride 1 and no padding has col = x itself, so im2col is skipped.
 * Depthwise problems (one input channel per group) take direct loops (depthwise.ts), and
 * so do forward passes with a tiny K = C_in/groups * k (direct.ts, same bits). Float32
 * forward passes of 5x5 stride-1 layers with a few channels take Winograd F(2x2, 5x5)
 * (winograd.ts: the same float32 results but for rare last-place differences).
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { canIm2colPacked, directForward, im2colPacked, im2colPackedT, useDirectForward } from "./direct.ts"
import { directBackwardWeight, useDirectBackwardWeight } from "./direct-weight.ts"
import { useWinograd, winogradForward } from "./winograd.ts"
import { depthwiseBackwardInput, depthwiseBackwardWeight, depthwiseForward, isDepthwise } from "./depthwise.ts"
import { gemm } from "../gemm/gemm.ts"
import { canPrepackB, gemmPrepackedB, gemmScatterAdd, gemmSerial, prepackedB } from "../gemm/serial.ts"
import { parallelBackend, threadCount } from "../../exec/parallel.ts"
import { reluForward } from "../pointwise/relu.ts"
import type { ConvProblem, GemmFunction } from "./problem.ts"
import { im2col, isPointwise, inputVolume, kernelVolume, outputVolume, paddedSizes, positionOffsets, tapOffsets, type ConvGeometry } from "./im2col.ts"
import { useWasmKernels } from "../backend.ts"
import { convBackwardInputWasm, convBackwardWeightWasm, convForwardWasm } from "../wasm/conv.ts"

let scratch64: FloatArray = new Float64Array(0)
let scratch32: FloatArray = new Float32Array(0)

/**
 * A reusable column buffer of the same dtype as `like` (contents undefined). With a
 * parallel backend it lives in shared memory, so the threads of a split GEMM read it
 * directly instead of from a staged copy.
 */
function columnBuffer(like: FloatArray, size: number): FloatArray {
  const backend = parallelBackend()
  const f64 = like instanceof Float64Array
  let buf = f64 ? scratch64 : scratch32
  if (buf.length < size || (backend !== undefined && !backend.isShared(buf))) {
    const fresh = backend?.allocShared(f64 ? "float64" : "float32", size) ?? (f64 ? new Float64Array(size) : new Float32Array(size))
    if (!(fresh instanceof Float32Array || fresh instanceof Float64Array)) throw new Error("expected a float buffer")
    buf = fresh
    if (f64) scratch64 = buf
    else scratch32 = buf
  }
  return buf.subarray(0, size)
}

/**
 * The sizes of one (sample, group) product: channels in and out per group, the column
 * matrix's K rows (channels x kernel taps) and P columns (output positions), and the
 * input plane volume.
 */
export function gemmSizes(p: ConvProblem): { cinG: number; coutG: number; K: number; P: number; inPlane: number } {
  const cinG = p.inChannels / p.groups
  return { cinG, coutG: p.outChannels / p.groups, K: cinG * kernelVolume(p.geometry), P: outputVolume(p.geometry), inPlane: inputVolume(p.geometry) }
}

export { isPointwise } from "./im2col.ts"

/**
 * The column matrix (size entries) of the `channels` planes at xOff: x itself when there is
 * no column buffer (pointwise convs, where im2col would copy x unchanged), else im2col into it.
 */
function columnMatrix(x: FloatArray, xOff: number, channels: number, g: ConvGeometry, col: FloatArray | undefined, size: number): FloatArray {
  if (col === undefined) return x.subarray(xOff, xOff + size)
  im2col(x, xOff, channels, g, col)
  return col
}

/**
 * True when a float32 problem runs on the WASM kernels (../wasm/conv.ts): they are on, and
 * the conv is not depthwise (one channel per group: ./depthwise.ts's loops beat a GEMM
 * with one row).
 */
function onWasm(p: ConvProblem, ...arrays: (FloatArray | undefined)[]): boolean {
  return !isDepthwise(p) && arrays.every((a) => a === undefined || a instanceof Float32Array) && useWasmKernels()
}

/** `convForward` (./conv.ts) on this thread, with the given GEMM. */
export function convForwardSerial(x: FloatArray, weight: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem, mm: GemmFunction, relu = false): void {
  if (onWasm(p, x, weight, y, bias) && convForwardWasm(x as Float32Array, weight as Float32Array, bias as Float32Array | undefined, y as Float32Array, p, relu)) return
  if (isDepthwise(p)) {
    const all = y.subarray(0, p.batch * p.outChannels * outputVolume(p.geometry))
    // the depthwise loops accumulate into y: start from zero (the executor does not clear)
    if (bias === undefined) all.fill(0)
    depthwiseForward(x, weight, bias, y, p)
    if (relu) reluForward(all, all)
    return
  }
  if (useDirectForward(p)) return directForward(x, weight, bias, y, p, relu)
  if (x instanceof Float32Array && weight instanceof Float32Array && y instanceof Float32Array && (bias === undefined || bias instanceof Float32Array) && useWinograd(p)) {
    const inSample = p.inChannels * inputVolume(p.geometry)
    const outSample = p.outChannels * outputVolume(p.geometry)
    const one = { ...p, batch: 1 }
    const direct = (n: number): void => convForwardLowered(x.subarray(n * inSample), weight, bias, y.subarray(n * outSample), one, mm, relu)
    if (winogradForward(x, weight, bias, y, p, relu, direct)) return
  }
  convForwardLowered(x, weight, bias, y, p, mm, relu)
}

/** {@link convForwardSerial} as im2col (or its packed form) + GEMM. */
function convForwardLowered(x: FloatArray, weight: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem, mm: GemmFunction, relu: boolean): void {
  const g = p.geometry
  const { cinG, coutG, K, P, inPlane } = gemmSizes(p)
  const pointwise = isPointwise(g)
  // im2col straight into gemm's packed B (saves a copy) when this thread runs the GEMM
  const prepack = !pointwise && canIm2colPacked(p) && canPrepackB(coutG, P, K) && (mm === gemmSerial || threadCount() === 1)
  const col = pointwise || prepack ? undefined : columnBuffer(x, K * P)
  if (bias !== undefined) {
    for (let n = 0; n < p.batch; n++) {
      for (let co = 0; co < p.outChannels; co++) y.fill(bias[co], (n * p.outChannels + co) * P, (n * p.outChannels + co + 1) * P)
    }
  }
  const beta = bias === undefined ? 0 : 1
  for (let n = 0; n < p.batch; n++) {
    for (let grp = 0; grp < p.groups; grp++) {
      const xOff = (n * p.inChannels + grp * cinG) * inPlane
      const yOff = (n * p.outChannels + grp * coutG) * P
      if (prepack) {
        im2colPacked(x, xOff, cinG, p, prepackedB())
        gemmPrepackedB(coutG, P, K, 1, weight.subarray(grp * coutG * K), K, beta, y.subarray(yOff), P)
        continue
      }
      const B = columnMatrix(x, xOff, cinG, g, col, K * P)
      mm(false, false, coutG, P, K, 1, weight.subarray(grp * coutG * K), K, B, P, beta, y.subarray(yOff), P)
    }
    if (relu) {
      const sample = y.subarray(n * p.outChannels * P, (n + 1) * p.outChannels * P)
      reluForward(sample, sample)
    }
  }
}

/** `convBackwardInput` (./conv.ts) on this thread, with the given GEMM. */
export function convBackwardInputSerial(gy: FloatArray, weight: FloatArray, gx: FloatArray, p: ConvProblem, mm: GemmFunction): void {
  if (onWasm(p, gy, weight, gx) && convBackwardInputWasm(gy as Float32Array, weight as Float32Array, gx as Float32Array, p)) return
  if (isDepthwise(p)) {
    gx.fill(0, 0, p.batch * p.inChannels * inputVolume(p.geometry))
    return depthwiseBackwardInput(gy, weight, gx, p)
  }
  const g = p.geometry
  const { cinG, coutG, K, P, inPlane } = gemmSizes(p)
  if (isPointwise(g)) {
    for (let n = 0; n < p.batch; n++) {
      for (let grp = 0; grp < p.groups; grp++) {
        const B = gy.subarray((n * p.outChannels + grp * coutG) * P)
        mm(true, false, K, P, coutG, 1, weight.subarray(grp * coutG * K), K, B, P, 0, gx.subarray((n * p.inChannels + grp * cinG) * inPlane), P)
      }
    }
    return
  }
  // col2im(W^T gy) with the column matrix never stored: each entry is added straight into
  // a zero-padded float64 copy of the input plane (gemmScatterAdd), whose interior is then
  // written to gx. Summing in float64 is also more accurate than adding into gx's dtype.
  const { rows, cols, padded } = scatterLayout(cinG, g)
  for (let n = 0; n < p.batch; n++) {
    for (let grp = 0; grp < p.groups; grp++) {
      padded.fill(0)
      const B = gy.subarray((n * p.outChannels + grp * coutG) * P)
      gemmScatterAdd(true, false, K, P, coutG, weight.subarray(grp * coutG * K), K, B, P, rows, cols, padded)
      copyInterior(padded, cinG, g, gx, (n * p.inChannels + grp * cinG) * inPlane)
    }
  }
}

let scatterRowBuf = new Int32Array(0)
let scatterColBuf = new Int32Array(0)
let paddedBuf = new Float64Array(0)

/** The offsets of gemmScatterAdd for conv input gradients (see im2col.ts), in reused buffers. */
function scatterLayout(channels: number, g: ConvGeometry): { rows: Int32Array; cols: Int32Array; padded: Float64Array } {
  const [Dp, Hp, Wp] = paddedSizes(g)
  const K = channels * kernelVolume(g)
  const P = outputVolume(g)
  const size = channels * Dp * Hp * Wp
  if (scatterRowBuf.length < K) scatterRowBuf = new Int32Array(K)
  if (scatterColBuf.length < P) scatterColBuf = new Int32Array(P)
  if (paddedBuf.length < size) paddedBuf = new Float64Array(size)
  const rows = scatterRowBuf.subarray(0, K)
  const cols = scatterColBuf.subarray(0, P)
  tapOffsets(channels, g, rows)
  positionOffsets(g, cols)
  return { rows, cols, padded: paddedBuf.subarray(0, size) }
}

/** gx[c, d, h, w] = padded[c, d + pD, h + pH, w + pW] for the `channels` planes at gxOff. */
function copyInterior(padded: Float64Array, channels: number, g: ConvGeometry, gx: FloatArray, gxOff: number): void {
  const [Dp, Hp, Wp] = paddedSizes(g)
  const [inD, inH, inW] = g.inSize
  const [pD, pH, pW] = g.padLo
  let o = gxOff
  for (let c = 0; c < channels; c++) {
    for (let d = 0; d < inD; d++) {
      for (let h = 0; h < inH; h++) {
        const src = ((c * Dp + d + pD) * Hp + h + pH) * Wp + pW
        for (let w = 0; w < inW; w++) gx[o++] = padded[src + w]
      }
    }
  }
}

/**
 * `convBackwardWeight` (./conv.ts) on this thread for rows [c0, c1) and taps (columns) [t0, t1)
 * of every group's block of gw. Each element's summation order is the same whatever the
 * ranges, so parts computed separately give the bits of one call.
 */
export function convBackwardWeightSerial(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem, mm: GemmFunction, c0: number, c1: number, t0 = 0, t1 = Infinity): void {
  if (p.batch > 0 && onWasm(p, gy, x, gw) && convBackwardWeightWasm(gy as Float32Array, x as Float32Array, gw as Float32Array, p, c0, c1, t0, t1)) return
  if (isDepthwise(p) || p.batch === 0) {
    gw.fill(0)
    if (p.batch === 0) return
    return depthwiseBackwardWeight(gy, x, gw, p)
  }
  if (useDirectBackwardWeight(p)) return directBackwardWeight(gy, x, gw, p, c0, c1, t0, t1)
  const g = p.geometry
  const { cinG, coutG, K, P, inPlane } = gemmSizes(p)
  const tEnd = Math.min(K, t1)
  const taps = tEnd - t0
  if (taps <= 0 || c1 <= c0) return
  const pointwise = isPointwise(g)
  // col^T straight into gemm's packed B, as in convForwardSerial
  const prepack = !pointwise && canIm2colPacked(p) && canPrepackB(c1 - c0, taps, P) && (mm === gemmSerial || threadCount() === 1)
  const col = pointwise || prepack ? undefined : columnBuffer(x, K * P)
  for (let n = 0; n < p.batch; n++) {
    for (let grp = 0; grp < p.groups; grp++) {
      const xOff = (n * p.inChannels + grp * cinG) * inPlane
      const gyOff = (n * p.outChannels + grp * coutG + c0) * P
      const gwOff = (grp * coutG + c0) * K + t0
      const beta = n === 0 ? 0 : 1
      if (prepack) {
        im2colPackedT(x, xOff, cinG, p, prepackedB(), t0, tEnd)
        gemmPrepackedB(c1 - c0, taps, P, 1, gy.subarray(gyOff), P, beta, gw.subarray(gwOff), K)
        continue
      }
      const B = columnMatrix(x, xOff, cinG, g, col, K * P)
      // rows t0 .. tEnd of col are columns t0 .. tEnd of col^T
      mm(false, true, c1 - c0, taps, P, 1, gy.subarray(gyOff), P, B.subarray(t0 * P), P, beta, gw.subarray(gwOff), K)
    }
  }
}
