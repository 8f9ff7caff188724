/**
 * Prints GEMM GFLOP/s for square float32/float64 products, and a naive triple loop for
 * reference. Usage: `npx tsx bench/gemm-quick.ts [--threads N] [sizes...]` (default 256
 * 512, one thread). Numbers only; nothing is asserted (the machine may be shared).
 */
import "../src/index.ts"
import { gemm } from "../src/kernels/gemm/gemm.ts"
import { startThreadPool } from "../src/node/threads.ts"
import type { FloatArray } from "../src/tensor/dtype.ts"

type Gemm = typeof gemm

/** The usual naive loop (i, k, j order: unit stride in B and C), no transposes. */
const naive: Gemm = (_ta, _tb, M, N, K, _alpha, A, lda, B, ldb, _beta, C: FloatArray, ldc) => {
  C.fill(0)
  for (let i = 0; i < M; i++) {
    for (let p = 0; p < K; p++) {
      const a = A[i * lda + p]
      for (let j = 0; j < N; j++) C[i * ldc + j] += a * B[p * ldb + j]
    }
  }
}

function measure(n: number, dtype: "float32" | "float64", f: Gemm, minMs: number): number {
  const make = (len: number) => (dtype === "float32" ? new Float32Array(len) : new Float64Array(len))
  const a = make(n * n)
  const b = make(n * n)
  const c = make(n * n)
  for (let i = 0; i < n * n; i++) {
    a[i] = Math.sin(i)
    b[i] = Math.cos(i)
  }
  f(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up (JIT)
  let reps = 0
  const start = performance.now()
  let elapsed = 0
  do {
    f(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
    reps++
    elapsed = performance.now() - start
  } while (elapsed < minMs)
  return (2 * n * n * n * reps) / (elapsed * 1e6)
}

const args = process.argv.slice(2)
const t = args.indexOf("--threads")
const threads = t >= 0 ? Number(args.splice(t, 2)[1]) : 1
const pool = await startThreadPool(threads)
console.log(`threads: ${threads}`)
const sizes = args.map(Number)
for (const n of sizes.length > 0 ? sizes : [256, 512]) {
  for (const dtype of ["float32", "float64"] as const) console.log(`gemm ${n}^3 ${dtype}: ${measure(n, dtype, gemm, 1500).toFixed(2)} GFLOP/s`)
}
console.log(`naive i-k-j loop 256^3 float32: ${measure(256, "float32", naive, 1000).toFixed(2)} GFLOP/s`)
await pool.close()
