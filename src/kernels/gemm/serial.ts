/**
 * General matrix multiply, C = alpha * op(A) * op(B) + beta * C, in the shape of the BLAS
 * `?gemm` routine, over row-major Float32Array or Float64Array operands.
 *
 * Structure (the BLIS/GotoBLAS loop nest, sized for a JS engine rather than for SIMD):
 *
 *   for jc in steps of NC over N          B block  (KC x NC) is packed into NR-wide panels
 *     for pc in steps of KC over K
 *       pack B(pc:pc+KC, jc:jc+NC)
 *       for ic in steps of MC over M     A block  (MC x KC) is packed into MR-tall panels
 *         pack A(ic:ic+MC, pc:pc+KC)
 *         for jr, ir: micro-kernel       MR x NR tile of C in MR*NR local variables
 *
 * Packing copies both operands into Float64Array panels laid out in exactly the order the
 * micro-kernel reads them (unit stride, transposes resolved, edges zero-padded). The one
 * hot loop therefore always sees Float64Array arguments (monomorphic in V8, no float32 to
 * float64 conversion per multiply-add) whatever the dtype and transpose flags are.
 *
 * Determinism: every output element C[i, j] is computed as
 *     acc_b = sum over p in KC-block b, ascending, of A(i, p) * B(p, j)   (in float64, from 0)
 *     C = beta * C + alpha * acc_0;  then C = C + alpha * acc_b for b = 1, 2, ...
 * The KC blocks depend only on K, never on M, N, MC or the position of the element, and
 * padded lanes of a tile never mix with real ones. So splitting the rows of C across
 * workers (call gemm on row ranges of A and C) gives bit-identical results, and so does
 * the small-size path below, which follows the same order.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { useWasmKernels } from "../backend.ts"
import { gemmWasm } from "../wasm/gemm.ts"

// The micro-kernel and the packers are written out for MR = 4, NR = 3 (literals keep V8's
// index arithmetic cheap); change them together.
/** Rows of the register tile. */
const MR = 4
/** Columns of the register tile. */
const NR = 3
/** Depth of a packed block; fixes the accumulation order (see the header). */
export const GEMM_KC = 256
/** Rows of A packed at once (MC x KC doubles = 128 KiB, stays in L2). */
const MC = 64
/** Columns of B packed at once (KC x NC doubles = 1 MiB shared L2/L3). */
const NC = 512

/** Below this many multiply-adds the packing overhead dominates: use the direct loop. */
const SMALL = 16 * 16 * 16

// Packing buffers of fixed size (every block fits: mc <= MC, kc <= KC, nc <= NC). They
// are module constants on purpose: V8 then treats them as known objects in the hot loop,
// so their length and data pointer are constants instead of being re-loaded and
// re-checked on every iteration (measured: 4 vs 2.5 GFLOP/s). gemm is synchronous and
// never re-entered, so one set per thread (module instance) suffices.
const packedA = new Float64Array(Math.ceil(MC / MR) * MR * GEMM_KC)
const packedB = new Float64Array(Math.ceil(NC / NR) * NR * GEMM_KC)
const tile = new Float64Array(MR * NR)
/** [alpha, beta] of the block being stored (see the macro-kernels). */
const scalars = new Float64Array(2)

/** `gemm` (./gemm.ts) on the calling thread only (what each thread runs on its rows). */
export function gemmSerial(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: FloatArray,
  lda: number,
  B: FloatArray,
  ldb: number,
  beta: number,
  C: FloatArray,
  ldc: number,
): void {
  if (M <= 0 || N <= 0) return
  // float32 runs on the WASM SIMD kernels when they are on (float32 accumulation; see ../backend.ts)
  if (K > 0 && alpha !== 0 && A instanceof Float32Array && B instanceof Float32Array && C instanceof Float32Array && useWasmKernels()) {
    if (gemmWasm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return
  }
  if (K <= 0 || alpha === 0) {
    scaleC(M, N, beta, C, ldc)
    return
  }
  if (M * N * K <= SMALL || M < 2 || N < 2) {
    gemmDirect(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    return
  }
  gemmPacked(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
}

/** The packed loop nest of {@link gemmSerial} (no small-size shortcut; M, N, K >= 1). */
function gemmPacked(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: FloatArray,
  lda: number,
  B: FloatArray,
  ldb: number,
  beta: number,
  C: FloatArray,
  ldc: number,
): void {
  const rsA = transA ? 1 : lda
  const csA = transA ? lda : 1
  const rsB = transB ? 1 : ldb
  const csB = transB ? ldb : 1
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc)
    for (let pc = 0; pc < K; pc += GEMM_KC) {
      const kc = Math.min(GEMM_KC, K - pc)
      const first = pc === 0
      if (B instanceof Float64Array) packB64(B, pc * rsB + jc * csB, rsB, csB, kc, nc, packedB)
      else packB32(B, pc * rsB + jc * csB, rsB, csB, kc, nc, packedB)
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic)
        if (A instanceof Float64Array) packA64(A, ic * rsA + pc * csA, rsA, csA, mc, kc, packedA)
        else packA32(A, ic * rsA + pc * csA, rsA, csA, mc, kc, packedA)
        scalars[0] = alpha
        scalars[1] = first ? beta : 1
        if (scatterTarget !== undefined) macroKernelScatter(mc, nc, kc, ic, jc)
        else macroKernel(mc, nc, kc, C, ic * ldc + jc, ldc)
      }
    }
  }
}

// Scatter mode of the macro-kernel (see gemmScatterAdd): while set, tiles are added to
// scatterTarget[scatterRows[i] + scatterCols[j]] instead of stored into C.
let scatterTarget: Float64Array | undefined
let scatterRows: Int32Array = new Int32Array(0)
let scatterCols: Int32Array = new Int32Array(0)

/**
 * target[rowOffsets[i] + colOffsets[j]] += (op(A) op(B))[i, j] for every i < M, j < N:
 * a product whose result is scattered as it is computed, never stored as a matrix. The
 * input gradient of a convolution is col2im(W^T gy); with the offsets of the (padded)
 * input position that column entry (t, p) belongs to, this adds each entry where col2im
 * would, without writing and re-reading the column matrix (LeNet-5: 150 x 100 per
 * sample; a VGG-style 3x3 layer: 288 x 784, larger than L2). Entries are added in a fixed
 * order that depends only on M, N and K. Offsets may repeat (that is the point).
 */
export function gemmScatterAdd(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  lda: number,
  B: FloatArray,
  ldb: number,
  rowOffsets: Int32Array,
  colOffsets: Int32Array,
  target: Float64Array,
): void {
  if (M <= 0 || N <= 0 || K <= 0) return
  scatterTarget = target
  scatterRows = rowOffsets
  scatterCols = colOffsets
  try {
    gemmPacked(transA, transB, M, N, K, 1, A, lda, B, ldb, 1, target, 0)
  } finally {
    scatterTarget = undefined
  }
}

/** Adds an edge tile's mr x nr entries at their scatter offsets (full tiles: macroKernelScatter). */
function scatterTile(t: Float64Array, mr: number, nr: number, row0: number, col0: number): void {
  const target = scatterTarget!
  const rows = scatterRows
  const cols = scatterCols
  for (let r = 0; r < mr; r++) {
    const base = rows[row0 + r]
    for (let c = 0; c < nr; c++) target[base + cols[col0 + c]] += t[r * NR + c]
  }
}

/** Largest N that {@link gemmPrepackedB} accepts (one NC block). */
export const GEMM_NC = NC

/**
 * The B panel buffer that {@link gemmPrepackedB} multiplies by: for K <= GEMM_KC and
 * N <= GEMM_NC, element (p, j) of B goes to index (floor(j / 3) * K + p) * 3 + j % 3, and
 * the columns of the last panel past N must be 0. Lets a producer (im2col) write B once,
 * already packed, instead of writing it and having gemm copy it again.
 */
export function prepackedB(): Float64Array {
  return packedB
}

/**
 * True when {@link gemmPrepackedB} handles an M x N x K product (one KC and one NC block,
 * and not the small-size direct loop).
 */
export function canPrepackB(M: number, N: number, K: number): boolean {
  return K > 0 && K <= GEMM_KC && N <= NC && M >= 2 && N >= 2 && M * N * K > SMALL
}

/**
 * C = alpha * A * B + beta * C with B already in {@link prepackedB} (A not transposed);
 * the same code path, order and bits as {@link gemmSerial} on the unpacked B.
 */
export function gemmPrepackedB(M: number, N: number, K: number, alpha: number, A: FloatArray, lda: number, beta: number, C: FloatArray, ldc: number): void {
  if (alpha === 0) {
    scaleC(M, N, beta, C, ldc)
    return
  }
  for (let ic = 0; ic < M; ic += MC) {
    const mc = Math.min(MC, M - ic)
    if (A instanceof Float64Array) packA64(A, ic * lda, lda, 1, mc, K, packedA)
    else packA32(A, ic * lda, lda, 1, mc, K, packedA)
    scalars[0] = alpha
    scalars[1] = beta
    macroKernel(mc, N, K, C, ic * ldc, ldc)
  }
}

/**
 * Walks one packed block tile by tile; the 4x3 register tile (the micro-kernel) is written
 * out inline: per step p, 3 values of B's panel and 4 of A's, 12 multiply-adds into 12
 * locals, reading a[aOff + 4p + r] and b[bOff + 3p + c].
 *
 * What V8 (Node 20) needs to run this at ~4 GFLOP/s rather than ~2.5 (all measured):
 * - 4x3: x86-64 has 16 float registers; 12 accumulators + 3 B + 1 A value fit. 4x4 and
 *   larger tiles spill; unrolling p only adds pressure.
 * - This function must not be inlined into the driver (whose live values would make the
 *   accumulators spill): inlining the k-loop here makes it too big for V8 to inline.
 * - No double may be live across the k-loop: alpha and beta travel in `scalars`.
 * - packedA/packedB are module constants, so their length and data pointer are folded.
 * - Literals 4 and 3 in the loop (a module const can be a context load per iteration),
 *   and offsets advanced by whole panels (no division, so indices stay small integers).
 */
function macroKernel(mc: number, nc: number, kc: number, C: FloatArray, cOff: number, ldc: number): void {
  const a = packedA
  const b = packedB
  const out = tile
  for (let jr = 0, bOff = 0; jr < nc; jr += 3, bOff += 3 * kc) {
    const nr = Math.min(3, nc - jr)
    for (let ir = 0, aOff = 0; ir < mc; ir += 4, aOff += 4 * kc) {
      let c00 = 0, c01 = 0, c02 = 0
      let c10 = 0, c11 = 0, c12 = 0
      let c20 = 0, c21 = 0, c22 = 0
      let c30 = 0, c31 = 0, c32 = 0
      let ia = aOff
      let ib = bOff
      const end = aOff + kc * 4
      while (ia < end) {
        const b0 = b[ib]
        const b1 = b[ib + 1]
        const b2 = b[ib + 2]
        let av = a[ia]
        c00 += av * b0
        c01 += av * b1
        c02 += av * b2
        av = a[ia + 1]
        c10 += av * b0
        c11 += av * b1
        c12 += av * b2
        av = a[ia + 2]
        c20 += av * b0
        c21 += av * b1
        c22 += av * b2
        av = a[ia + 3]
        c30 += av * b0
        c31 += av * b1
        c32 += av * b2
        ia += 4
        ib += 3
      }
      out[0] = c00
      out[1] = c01
      out[2] = c02
      out[3] = c10
      out[4] = c11
      out[5] = c12
      out[6] = c20
      out[7] = c21
      out[8] = c22
      out[9] = c30
      out[10] = c31
      out[11] = c32
      const mr = Math.min(4, mc - ir)
      if (C instanceof Float64Array) storeTile64(out, mr, nr, C, cOff + ir * ldc + jr, ldc)
      else storeTile32(out, mr, nr, C, cOff + ir * ldc + jr, ldc)
    }
  }
}

/**
 * {@link macroKernel} in scatter mode (gemmScatterAdd): a full 4x3 tile is added to its
 * twelve scatter targets straight from the accumulators, in the order scatterTile uses
 * (row by row, columns in order), instead of going through the tile buffer and a call.
 * The conv input gradient's product is only 16 deep, so a tile's store is a large part
 * of its cost. Edge tiles take scatterTile. The block starts at row blockRow0 and column
 * blockCol0 of the product (the scatter offsets' indices).
 */
function macroKernelScatter(mc: number, nc: number, kc: number, blockRow0: number, blockCol0: number): void {
  const a = packedA
  const b = packedB
  const out = tile
  const target = scatterTarget!
  const rows = scatterRows
  const cols = scatterCols
  for (let jr = 0, bOff = 0; jr < nc; jr += 3, bOff += 3 * kc) {
    const nr = Math.min(3, nc - jr)
    const col0 = blockCol0 + jr
    for (let ir = 0, aOff = 0; ir < mc; ir += 4, aOff += 4 * kc) {
      let c00 = 0, c01 = 0, c02 = 0
      let c10 = 0, c11 = 0, c12 = 0
      let c20 = 0, c21 = 0, c22 = 0
      let c30 = 0, c31 = 0, c32 = 0
      let ia = aOff
      let ib = bOff
      const end = aOff + kc * 4
      while (ia < end) {
        const b0 = b[ib]
        const b1 = b[ib + 1]
        const b2 = b[ib + 2]
        let av = a[ia]
        c00 += av * b0
        c01 += av * b1
        c02 += av * b2
        av = a[ia + 1]
        c10 += av * b0
        c11 += av * b1
        c12 += av * b2
        av = a[ia + 2]
        c20 += av * b0
        c21 += av * b1
        c22 += av * b2
        av = a[ia + 3]
        c30 += av * b0
        c31 += av * b1
        c32 += av * b2
        ia += 4
        ib += 3
      }
      const mr = Math.min(4, mc - ir)
      const row0 = blockRow0 + ir
      if (mr === 4 && nr === 3) {
        const k0 = cols[col0]
        const k1 = cols[col0 + 1]
        const k2 = cols[col0 + 2]
        let base = rows[row0]
        target[base + k0] += c00
        target[base + k1] += c01
        target[base + k2] += c02
        base = rows[row0 + 1]
        target[base + k0] += c10
        target[base + k1] += c11
        target[base + k2] += c12
        base = rows[row0 + 2]
        target[base + k0] += c20
        target[base + k1] += c21
        target[base + k2] += c22
        base = rows[row0 + 3]
        target[base + k0] += c30
        target[base + k1] += c31
        target[base + k2] += c32
        continue
      }
      out[0] = c00
      out[1] = c01
      out[2] = c02
      out[3] = c10
      out[4] = c11
      out[5] = c12
      out[6] = c20
      out[7] = c21
      out[8] = c22
      out[9] = c30
      out[10] = c31
      out[11] = c32
      scatterTile(out, mr, nr, row0, col0)
    }
  }
}

/** C tile = beta * C + alpha * tile (beta = 0: overwrite), clipped to mr x nr; alpha, beta from `scalars`. */
function storeTile64(t: Float64Array, mr: number, nr: number, C: Float64Array, cOff: number, ldc: number): void {
  const alpha = scalars[0]
  const beta = scalars[1]
  if (alpha === 1 && mr === 4 && nr === 3) {
    // full tile, alpha 1 (every conv and matmul): the same arithmetic, unrolled
    if (beta === 0) {
      for (let r = 0, row = cOff; r < 12; r += 3, row += ldc) {
        C[row] = t[r]
        C[row + 1] = t[r + 1]
        C[row + 2] = t[r + 2]
      }
      return
    }
    if (beta === 1) {
      for (let r = 0, row = cOff; r < 12; r += 3, row += ldc) {
        C[row] += t[r]
        C[row + 1] += t[r + 1]
        C[row + 2] += t[r + 2]
      }
      return
    }
  }
  for (let r = 0; r < mr; r++) {
    const row = cOff + r * ldc
    for (let c = 0; c < nr; c++) {
      const v = alpha === 1 ? t[r * NR + c] : alpha * t[r * NR + c]
      C[row + c] = beta === 0 ? v : beta === 1 ? C[row + c] + v : beta * C[row + c] + v
    }
  }
}

function storeTile32(t: Float64Array, mr: number, nr: number, C: Float32Array, cOff: number, ldc: number): void {
  const alpha = scalars[0]
  const beta = scalars[1]
  if (alpha === 1 && mr === 4 && nr === 3) {
    // full tile, alpha 1 (every conv and matmul): the same arithmetic, unrolled
    if (beta === 0) {
      for (let r = 0, row = cOff; r < 12; r += 3, row += ldc) {
        C[row] = t[r]
        C[row + 1] = t[r + 1]
        C[row + 2] = t[r + 2]
      }
      return
    }
    if (beta === 1) {
      for (let r = 0, row = cOff; r < 12; r += 3, row += ldc) {
        C[row] += t[r]
        C[row + 1] += t[r + 1]
        C[row + 2] += t[r + 2]
      }
      return
    }
  }
  for (let r = 0; r < mr; r++) {
    const row = cOff + r * ldc
    for (let c = 0; c < nr; c++) {
      const v = alpha === 1 ? t[r * NR + c] : alpha * t[r * NR + c]
      C[row + c] = beta === 0 ? v : beta === 1 ? C[row + c] + v : beta * C[row + c] + v
    }
  }
}

// Packing: A block (mc x kc, element (i, p) at off + i*rs + p*cs) into MR-tall panels,
// panel q holding rows q*MR.. as [p][r]; rows past mc are zero. B block (kc x nc, element
// (p, j) at off + p*rs + j*cs) into NR-wide panels [p][c]; columns past nc are zero.
// Full panels take an unrolled path with literal MR = 4 / NR = 3 (no per-element edge
// test); each packer exists per source array type so every loop stays monomorphic.
function packA64(A: Float64Array, off: number, rs: number, cs: number, mc: number, kc: number, out: Float64Array): void {
  let o = 0
  for (let i0 = 0; i0 < mc; i0 += 4) {
    const rows = mc - i0
    let src = off + i0 * rs
    if (rows >= 4) {
      for (let p = 0; p < kc; p++, src += cs, o += 4) {
        out[o] = A[src]
        out[o + 1] = A[src + rs]
        out[o + 2] = A[src + 2 * rs]
        out[o + 3] = A[src + 3 * rs]
      }
    } else {
      for (let p = 0; p < kc; p++, src += cs) for (let r = 0; r < 4; r++) out[o++] = r < rows ? A[src + r * rs] : 0
    }
  }
}

function packA32(A: Float32Array, off: number, rs: number, cs: number, mc: number, kc: number, out: Float64Array): void {
  let o = 0
  for (let i0 = 0; i0 < mc; i0 += 4) {
    const rows = mc - i0
    let src = off + i0 * rs
    if (rows >= 4) {
      for (let p = 0; p < kc; p++, src += cs, o += 4) {
        out[o] = A[src]
        out[o + 1] = A[src + rs]
        out[o + 2] = A[src + 2 * rs]
        out[o + 3] = A[src + 3 * rs]
      }
    } else {
      for (let p = 0; p < kc; p++, src += cs) for (let r = 0; r < 4; r++) out[o++] = r < rows ? A[src + r * rs] : 0
    }
  }
}

function packB64(B: Float64Array, off: number, rs: number, cs: number, kc: number, nc: number, out: Float64Array): void {
  let o = 0
  for (let j0 = 0; j0 < nc; j0 += 3) {
    const cols = nc - j0
    let src = off + j0 * cs
    if (cols >= 3) {
      for (let p = 0; p < kc; p++, src += rs, o += 3) {
        out[o] = B[src]
        out[o + 1] = B[src + cs]
        out[o + 2] = B[src + 2 * cs]
      }
    } else {
      for (let p = 0; p < kc; p++, src += rs) for (let c = 0; c < 3; c++) out[o++] = c < cols ? B[src + c * cs] : 0
    }
  }
}

function packB32(B: Float32Array, off: number, rs: number, cs: number, kc: number, nc: number, out: Float64Array): void {
  let o = 0
  for (let j0 = 0; j0 < nc; j0 += 3) {
    const cols = nc - j0
    let src = off + j0 * cs
    if (cols >= 3) {
      for (let p = 0; p < kc; p++, src += rs, o += 3) {
        out[o] = B[src]
        out[o + 1] = B[src + cs]
        out[o + 2] = B[src + 2 * cs]
      }
    } else {
      for (let p = 0; p < kc; p++, src += rs) for (let c = 0; c < 3; c++) out[o++] = c < cols ? B[src + c * cs] : 0
    }
  }
}

/** C = beta * C (beta = 0 overwrites, ignoring NaN in C). */
function scaleC(M: number, N: number, beta: number, C: FloatArray, ldc: number): void {
  if (beta === 1) return
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) C[i * ldc + j] = beta === 0 ? 0 : beta * C[i * ldc + j]
  }
}

/**
 * Small products: no packing, same per-element order as the packed path (float64
 * accumulation from 0 within each KC block, ascending p), hence the same bits.
 */
function gemmDirect(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: FloatArray,
  lda: number,
  B: FloatArray,
  ldb: number,
  beta: number,
  C: FloatArray,
  ldc: number,
): void {
  const rsA = transA ? 1 : lda
  const csA = transA ? lda : 1
  const rsB = transB ? 1 : ldb
  const csB = transB ? ldb : 1
  for (let pc = 0; pc < K; pc += GEMM_KC) {
    const kEnd = Math.min(K, pc + GEMM_KC)
    const b = pc === 0 ? beta : 1
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0
        let ia = i * rsA + pc * csA
        let ib = pc * rsB + j * csB
        for (let p = pc; p < kEnd; p++) {
          acc += A[ia] * B[ib]
          ia += csA
          ib += rsB
        }
        const v = alpha === 1 ? acc : alpha * acc
        const ci = i * ldc + j
        C[ci] = b === 0 ? v : b === 1 ? C[ci] + v : b * C[ci] + v
      }
    }
  }
}
