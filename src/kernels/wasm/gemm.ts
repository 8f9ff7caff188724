/**
 * float32 GEMM on the WASM kernels: the BLIS loop nest (as in ../gemm/serial.ts) driven from
 * here, with packing and the macro-kernel in WebAssembly (./gemm-module.ts). Operands in an
 * arena are used in place; others are copied into the staging arena first (runInArena).
 */
import { GEMM_KC, GEMM_MC, GEMM_NC, SCRATCH, runInArena, type Arena } from "./module.ts"

/** The elements a strided matrix view spans: rows x cols with row stride ld. */
const span = (rows: number, cols: number, ld: number): number => (rows - 1) * ld + cols

/** The same contract as ../gemm/serial.ts's gemmSerial, for float32 operands. */
export function gemmWasm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  beta: number,
  C: Float32Array,
  ldc: number,
): boolean {
  // the spans the matrices cover: in place when they share an arena, else staged (C's whole
  // span is copied in too, so the copy back leaves what lies between its rows unchanged)
  const aLen = transA ? span(K, M, lda) : span(M, K, lda)
  const bLen = transB ? span(N, K, ldb) : span(K, N, ldb)
  const cLen = span(M, N, ldc)
  return runInArena([A.subarray(0, aLen), B.subarray(0, bLen)], [C.subarray(0, cLen)], 0, (arena, [a, b, c]) =>
    gemmAt(arena, transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc),
  )
}

/**
 * An implicit B operand: B[k, j] = base[rowOff[k] + colOff[j]] (byte addresses of the base
 * array and of two int32 offset arrays), packed straight from `base` (see packBGather).
 */
export interface GatheredB {
  readonly base: number
  readonly rowOff: number
  readonly colOff: number
}

/**
 * The GEMM on byte addresses in `arena` (operands already there; see gemmWasm for the
 * contract); with `gathered`, B is that implicit matrix and `b`, `ldb`, `transB` are unused.
 */
export function gemmAt(arena: Arena, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number, gathered?: GatheredB): void {
  const k = arena.kernels
  const macro = k.macroRelaxed ?? k.macro
  // this thread's scratch slot (threads sharing the arena have one each)
  const pa = arena.scratch + SCRATCH.packedA
  const pb = arena.scratch + SCRATCH.packedB
  const tile = arena.scratch + SCRATCH.tile
  const ta = transA ? 1 : 0
  const tb = transB ? 1 : 0
  for (let jc = 0; jc < N; jc += GEMM_NC) {
    const nc = Math.min(GEMM_NC, N - jc)
    for (let pc = 0; pc < K; pc += GEMM_KC) {
      const kc = Math.min(GEMM_KC, K - pc)
      if (gathered !== undefined) k.packBGather(gathered.base, gathered.rowOff + 4 * pc, gathered.colOff + 4 * jc, kc, nc, pb)
      else k.packB(b + 4 * (transB ? jc * ldb + pc : pc * ldb + jc), ldb, tb, kc, nc, pb)
      // the first K block applies beta (overwriting when it is 0), later ones accumulate
      const first = pc === 0
      for (let ic = 0; ic < M; ic += GEMM_MC) {
        const mc = Math.min(GEMM_MC, M - ic)
        k.packA(a + 4 * (transA ? pc * lda + ic : ic * lda + pc), lda, ta, mc, kc, pa)
        macro(pa, pb, mc, nc, kc, c + 4 * (ic * ldc + jc), ldc, alpha, first ? beta : 1, first && beta === 0 ? 1 : 0, tile)
      }
    }
  }
}
