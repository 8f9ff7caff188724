/**
 * GEMM across threads: the rows of C are split into contiguous blocks (multiples of the
 * 4-row register tile), one per thread, each computed by gemmSerial. Every element's
 * summation order does not depend on the row range (see gemm.ts), so the result is the
 * same bits with any number of threads.
 *
 * Workers can only see shared memory. Operands that are not shared (parameters, feeds,
 * a kernel's private scratch) are staged into shared buffers first: O(MK + KN + MN)
 * copies against O(MNK) arithmetic, which is why only large products are split.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { gemmSerial } from "./serial.ts"
import { parallelBackend, parallelTasks, runTask, splitRange, threadCount, type ParallelBackend, type TaskArgs } from "../../exec/parallel.ts"

const TASK = "gemm.rows"
/** Below this many multiply-adds, posting work to another thread costs more than it saves. */
const MIN_MULTIPLY_ADDS = 1 << 20

/** True when a product is big enough (and tall enough) to split by rows. */
export function worthSplitting(M: number, N: number, K: number): boolean {
  return M >= 8 && N > 0 && K > 0 && M * N * K >= MIN_MULTIPLY_ADDS
}

function floatArray(a: unknown): FloatArray {
  if (a instanceof Float32Array || a instanceof Float64Array) return a
  throw new Error("gemm task: expected float arrays")
}

// numbers: transA, transB, m0, m1, N, K, alpha, lda, ldb, beta, ldc
parallelTasks.set(TASK, ({ arrays, numbers }: TaskArgs) => {
  const [tA, tB, m0, m1, N, K, alpha, lda, ldb, beta, ldc] = numbers
  const A = floatArray(arrays[0])
  const B = floatArray(arrays[1])
  const C = floatArray(arrays[2])
  gemmSerial(tA === 1, tB === 1, m1 - m0, N, K, alpha, tA === 1 ? A.subarray(m0) : A.subarray(m0 * lda), lda, B, ldb, beta, C.subarray(m0 * ldc), ldc)
})

// Shared staging buffers, one per operand slot, grown on demand and reused.
const staging: (FloatArray | undefined)[] = [undefined, undefined, undefined]
const stage = (backend: ParallelBackend, slot: number, a: FloatArray, extent: number): FloatArray => stageShared(staging, backend, slot, a, extent)

/**
 * `a` itself when the workers can see it, else its first `extent` elements copied into
 * the shared buffer `cache[slot]` (grown on demand, reused by later calls).
 */
export function stageShared(staging: (FloatArray | undefined)[], backend: ParallelBackend, slot: number, a: FloatArray, extent: number): FloatArray {
  if (backend.isShared(a)) return a
  const dtype = a instanceof Float64Array ? "float64" : "float32"
  let buf = staging[slot]
  const sameType = buf !== undefined && (dtype === "float64") === buf instanceof Float64Array
  if (buf === undefined || !sameType || buf.length < extent) {
    const fresh = backend.allocShared(dtype, Math.max(extent, (buf?.length ?? 0) * (sameType ? 2 : 1)))
    buf = floatArray(fresh)
    staging[slot] = buf
  }
  const view = buf.subarray(0, extent)
  view.set(a.subarray(0, extent))
  return view
}

/** {@link gemmSerial}'s contract, computed by row blocks on the parallel backend. */
export function gemmParallel(
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
  const backend = parallelBackend()
  if (backend === undefined) return gemmSerial(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  // Elements each operand spans from its first: the last row's start plus one row.
  const extentA = transA ? (K - 1) * lda + M : (M - 1) * lda + K
  const extentB = transB ? (N - 1) * ldb + K : (K - 1) * ldb + N
  const extentC = (M - 1) * ldc + N
  const sA = stage(backend, 0, A, extentA)
  const sB = stage(backend, 1, B, extentB)
  // C is copied in even when beta = 0: the gaps between rows (ldc > N) must come back intact.
  const sC = stage(backend, 2, C, extentC)
  const parts = splitRange(M, threadCount(), 4).map(([m0, m1]) => ({
    arrays: [sA, sB, sC],
    numbers: [transA ? 1 : 0, transB ? 1 : 0, m0, m1, N, K, alpha, lda, ldb, beta, ldc],
  }))
  runTask(TASK, parts)
  if (sC !== C) C.set(sC.subarray(0, extentC))
}
