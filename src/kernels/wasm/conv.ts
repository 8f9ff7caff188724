/**
 * float32 convolution on the WASM kernels: implicit GEMMs (./gemm.ts packs the column matrix
 * straight from the input through offset tables, so there is no im2col), a scatter-add for
 * the input gradient's col2im, the bias and ReLU epilogue in WebAssembly too. Same contracts as ../conv/serial.ts; the summation order of every
 * element depends on the problem only, never on which samples or threads ran it.
 */
import { inputVolume, isPointwise, kernelVolume, outputVolume } from "../conv/im2col.ts"
import type { ConvProblem } from "../conv/problem.ts"
import { gemmAt } from "./gemm.ts"
import { runInArena, type Arena } from "./module.ts"

interface Sizes {
  readonly cinG: number
  readonly coutG: number
  /** Rows of the column matrix: cinG * kernel volume. */
  readonly K: number
  /** Output positions. */
  readonly P: number
  /** Input positions. */
  readonly inPlane: number
  /** True when the column matrix is x itself (1x1 kernel, stride 1, no padding). */
  readonly pointwise: boolean
}

function sizes(p: ConvProblem): Sizes {
  const g = p.geometry
  const cinG = p.inChannels / p.groups
  return { cinG, coutG: p.outChannels / p.groups, K: cinG * kernelVolume(g), P: outputVolume(g), inPlane: inputVolume(g), pointwise: isPointwise(g) }
}

/**
 * How the column matrix of one (sample, group) is read without im2col: entry (tap t,
 * position p) is `base[tapOff[t] + posOff[p]]`, where base is the group's input planes,
 * zero-padded into the workspace when the conv pads (so no bounds checks anywhere).
 */
interface Implicit {
  /** Padded plane sizes (the input's own when there is no padding). */
  readonly dims: readonly [number, number, number]
  /** Floats of the padded copy of one group's planes (0: read x in place). */
  readonly padFloats: number
  /** Workspace bytes: the padded copy and the two offset tables. */
  readonly workBytes: number
}

function implicitLayout(p: ConvProblem, s: Sizes): Implicit {
  const g = p.geometry
  // the last input index a window reaches, in padded coordinates, plus one
  const reach = [0, 1, 2].map((i) => (g.outSize[i] - 1) * g.stride[i] + (g.kernel[i] - 1) * g.dilation[i] + 1)
  // padding on either side ("same" with an even kernel pads the high side only)
  const padded = [0, 1, 2].some((i) => g.padLo[i] > 0 || reach[i] > g.inSize[i])
  const dims = [0, 1, 2].map((i) => (padded ? Math.max(g.inSize[i] + g.padLo[i], reach[i]) : g.inSize[i])) as [number, number, number]
  const padFloats = padded ? Math.ceil((s.cinG * dims[0] * dims[1] * dims[2]) / 4) * 4 : 0
  const rows = p.geometry.outSize[0] * p.geometry.outSize[1]
  return { dims, padFloats, workBytes: padFloats * 4 + Math.ceil(s.K / 4) * 16 + Math.ceil(s.P / 4) * 16 + Math.ceil(rows / 4) * 16 }
}

/** Writes the tap and position offset tables at `work` (after the padded copy); returns their byte addresses. */
function offsetTables(arena: Arena, p: ConvProblem, s: Sizes, lay: Implicit, work: number): { taps: number; positions: number; rowStarts: number } {
  const g = p.geometry
  const [Dp, Hp, Wp] = lay.dims
  const [kD, kH, kW] = g.kernel
  const [oD, oH, oW] = g.outSize
  const [sD, sH, sW] = g.stride
  const [dD, dH, dW] = g.dilation
  const taps = work + lay.padFloats * 4
  const positions = taps + Math.ceil(s.K / 4) * 16
  const t = new Int32Array(arena.memory.buffer, taps, s.K)
  const q = new Int32Array(arena.memory.buffer, positions, s.P)
  let i = 0
  for (let c = 0; c < s.cinG; c++) for (let a = 0; a < kD; a++) for (let b = 0; b < kH; b++) for (let e = 0; e < kW; e++) t[i++] = ((c * Dp + a * dD) * Hp + b * dH) * Wp + e * dW
  i = 0
  for (let a = 0; a < oD; a++) for (let b = 0; b < oH; b++) for (let e = 0; e < oW; e++) q[i++] = (a * sD * Hp + b * sH) * Wp + e * sW
  // where each output row starts (its first position's offset), for weightGradRows
  const rowStarts = positions + Math.ceil(s.P / 4) * 16
  const rows = new Int32Array(arena.memory.buffer, rowStarts, oD * oH)
  for (let r = 0; r < oD * oH; r++) rows[r] = q[r * oW]
  return { taps, positions, rowStarts }
}

/**
 * Copies the rows of `channels` input planes at byte address `planes` to their place inside
 * the zero-padded planes at `padded` (`toPadded`), or back (the interior only).
 */
function copyPlaneRows(heap: Float32Array, p: ConvProblem, channels: number, lay: Implicit, planes: number, padded: number, toPadded: boolean): void {
  const [inD, inH, inW] = p.geometry.inSize
  const [pD, pH, pW] = p.geometry.padLo
  const [Dp, Hp, Wp] = lay.dims
  for (let c = 0; c < channels; c++) {
    for (let d = 0; d < inD; d++) {
      for (let h = 0; h < inH; h++) {
        const row = planes / 4 + ((c * inD + d) * inH + h) * inW
        const inside = padded / 4 + ((c * Dp + d + pD) * Hp + h + pH) * Wp + pW
        if (toPadded) heap.copyWithin(inside, row, row + inW)
        else heap.copyWithin(row, inside, inside + inW)
      }
    }
  }
}

/**
 * The byte address the implicit column matrix of `channels` planes at x reads from: x
 * itself, or the zero-padded copy at `work` (its border was zeroed by {@link clearPadded}
 * and is never written, so each call copies the interior rows only).
 */
function paddedInput(arena: Arena, p: ConvProblem, channels: number, lay: Implicit, x: number, work: number): number {
  if (lay.padFloats === 0) return x
  copyPlaneRows(new Float32Array(arena.memory.buffer), p, channels, lay, x, work, true)
  return work
}

function clearPadded(arena: Arena, lay: Implicit, work: number): void {
  if (lay.padFloats > 0) new Float32Array(arena.memory.buffer, work, lay.padFloats).fill(0)
}

/** y = conv(x, weight) + bias, then ReLU when `relu`. False when no arena can hold it. */
export function convForwardWasm(x: Float32Array, weight: Float32Array, bias: Float32Array | undefined, y: Float32Array, p: ConvProblem, relu: boolean): boolean {
  const s = sizes(p)
  const { cinG, coutG, K, P, inPlane } = s
  const lay = implicitLayout(p, s)
  const inputs = bias === undefined ? [x, weight] : [x, weight, bias]
  const ySize = p.batch * p.outChannels * P
  return runInArena(inputs, [y.subarray(0, ySize)], lay.workBytes, (arena, addr, work) => {
    const [xa, wa] = addr
    const ba = bias === undefined ? -1 : addr[2]
    const ya = addr[addr.length - 1]
    const { taps, positions } = offsetTables(arena, p, s, lay, work)
    clearPadded(arena, lay, work)
    for (let n = 0; n < p.batch; n++) {
      const yn = ya + n * p.outChannels * P * 4
      if (ba >= 0) arena.kernels.fillRows(yn, p.outChannels, P, ba)
      for (let grp = 0; grp < p.groups; grp++) {
        const base = paddedInput(arena, p, cinG, lay, xa + (n * p.inChannels + grp * cinG) * inPlane * 4, work)
        gemmAt(arena, false, false, coutG, P, K, 1, wa + grp * coutG * K * 4, K, 0, 0, ba >= 0 ? 1 : 0, yn + grp * coutG * P * 4, P, { base, rowOff: taps, colOff: positions })
      }
      if (relu) arena.kernels.relu(yn, p.outChannels * P)
    }
  })
}

/**
 * gx = the input gradient of conv for upstream gy (overwritten): per sample and group, the
 * column matrix W^T gy by the GEMM, then scattered back into the (padded) input planes
 * through the same offset tables the forward reads with (col2im without bounds checks).
 */
export function convBackwardInputWasm(gy: Float32Array, weight: Float32Array, gx: Float32Array, p: ConvProblem): boolean {
  const s = sizes(p)
  const { cinG, coutG, K, P, inPlane } = s
  const lay = implicitLayout(p, s)
  const gxSize = p.batch * p.inChannels * inPlane
  const colBytes = s.pointwise ? 0 : Math.ceil((K * P) / 4) * 16
  return runInArena([gy, weight], [gx.subarray(0, gxSize)], lay.workBytes + colBytes, (arena, [gya, wa, gxa], work) => {
    const col = work + lay.workBytes
    const { taps, positions } = offsetTables(arena, p, s, lay, work)
    const heap = new Float32Array(arena.memory.buffer)
    // the scatter adds into gx itself when nothing is padded (a pointwise GEMM overwrites it)
    if (lay.padFloats === 0 && !s.pointwise) heap.fill(0, gxa / 4, gxa / 4 + gxSize)
    for (let n = 0; n < p.batch; n++) {
      for (let grp = 0; grp < p.groups; grp++) {
        const B = gya + (n * p.outChannels + grp * coutG) * P * 4
        const gxOff = gxa + (n * p.inChannels + grp * cinG) * inPlane * 4
        const W = wa + grp * coutG * K * 4
        if (s.pointwise) {
          gemmAt(arena, true, false, K, P, coutG, 1, W, K, B, P, 0, gxOff, P)
          continue
        }
        gemmAt(arena, true, false, K, P, coutG, 1, W, K, B, P, 0, col, P)
        if (lay.padFloats === 0) {
          arena.kernels.scatterAdd(gxOff, taps, positions, K, P, col)
          continue
        }
        clearPadded(arena, lay, work)
        arena.kernels.scatterAdd(work, taps, positions, K, P, col)
        copyPlaneRows(heap, p, cinG, lay, gxOff, work, false)
      }
    }
  })
}

/**
 * Rows [c0, c1) and taps [t0, t1) of every group's block of gw, the weight gradient
 * summed over the batch in sample order (overwritten).
 */
export function convBackwardWeightWasm(gy: Float32Array, x: Float32Array, gw: Float32Array, p: ConvProblem, c0: number, c1: number, t0: number, t1: number): boolean {
  const s = sizes(p)
  const { cinG, coutG, K, P, inPlane } = s
  const tEnd = Math.min(K, t1)
  if (tEnd <= t0 || c1 <= c0) return true
  const lay = implicitLayout(p, s)
  // Stride 1 along long rows: the row kernel, which needs no packing (weightGradRows). On
  // short rows its masked tails and 2x4 tiles lose to the GEMM (`npx tsx bench/conv-lenet.ts
  // --arena`: LeNet conv1, rows of 28: 1.65 -> 0.54 ms; conv2, rows of 10: 1.20 -> 1.54 ms)
  const byRows = p.geometry.stride[2] === 1 && p.geometry.outSize[2] >= 16
  // the block of gw this call writes: rows c0..c1 of each group, columns t0..tEnd
  const written: [number, number][] = []
  for (let grp = 0; grp < p.groups; grp++) for (let c = c0; c < c1; c++) written.push([(grp * coutG + c) * K + t0, (grp * coutG + c) * K + tEnd])
  const body = (arena: Arena, [gya, xa, gwa]: number[], work: number): void => {
    const { taps, positions, rowStarts } = offsetTables(arena, p, s, lay, work)
    const [oD, oH, oW] = p.geometry.outSize
    clearPadded(arena, lay, work)
    for (let n = 0; n < p.batch; n++) {
      for (let grp = 0; grp < p.groups; grp++) {
        const base = paddedInput(arena, p, cinG, lay, xa + (n * p.inChannels + grp * cinG) * inPlane * 4, work)
        const A = gya + (n * p.outChannels + grp * coutG + c0) * P * 4
        const C = gwa + ((grp * coutG + c0) * K + t0) * 4
        if (byRows) {
          arena.kernels.weightGradRows(A, P * 4, c1 - c0, base, taps + t0 * 4, tEnd - t0, oD * oH, rowStarts, oW, C, K * 4, n === 0 ? 0 : 1)
          continue
        }
        // B = col^T: k runs over positions, columns over taps
        gemmAt(arena, false, true, c1 - c0, tEnd - t0, P, 1, A, P, 0, 0, n === 0 ? 0 : 1, C, K, { base, rowOff: positions, colOff: taps + t0 * 4 })
      }
    }
  }
  return runInArena([gy, x], [gw.subarray(0, p.outChannels * K)], lay.workBytes, body, false, written)
}
