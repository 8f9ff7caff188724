/**
 * The GEMM every op calls: the serial kernel (./serial.ts), or row blocks split across the
 * threads of a parallel backend (./parallel.ts) when the product is large enough. Both give
 * the same bits (see serial.ts's header).
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { threadCount } from "../../exec/parallel.ts"
import { gemmParallel, worthSplitting } from "./parallel.ts"
import { gemmSerial } from "./serial.ts"

/**
 * C = alpha * op(A) * op(B) + beta * C with op(X) = X or X^T (row-major storage).
 *
 * op(A) is M x K, op(B) is K x N, C is M x N. `lda`, `ldb`, `ldc` are the row strides of
 * the stored matrices (A is stored K x M when transA). Pass `subarray` views to start at
 * an offset. When beta is 0, C is overwritten without being read (NaN in C is ignored,
 * as in BLAS). Every element's summation order is independent of M and N, so row blocks
 * of C computed separately are bit-identical to one call (see the header): with a
 * parallel backend installed (src/exec/parallel.ts), large products are split by rows
 * across threads and give the same bits as on one thread.
 *
 * @example
 * // 2x3 times 3x2
 * const c = new Float64Array(4)
 * gemm(false, false, 2, 2, 3, 1, new Float64Array([1, 2, 3, 4, 5, 6]), 3, new Float64Array([1, 0, 0, 1, 1, 1]), 2, 0, c, 2)
 * // c = [4, 5, 10, 11]
 */
export function gemm(
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
  if (threadCount() > 1 && worthSplitting(M, N, K)) gemmParallel(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  else gemmSerial(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
}
