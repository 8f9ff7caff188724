/** Prints GEMM GFLOP/s for square float32/float64 products: `npx tsx bench/gemm-quick.ts [sizes...]`. */
import { gemm } from "../src/kernels/gemm.ts"

function measure(n: number, dtype: "float32" | "float64"): number {
  const make = (len: number) => (dtype === "float32" ? new Float32Array(len) : new Float64Array(len))
  const a = make(n * n)
  const b = make(n * n)
  const c = make(n * n)
  for (let i = 0; i < n * n; i++) {
    a[i] = Math.sin(i)
    b[i] = Math.cos(i)
  }
  gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm up
  let reps = 0
  const start = performance.now()
  let elapsed = 0
  do {
    gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
    reps++
    elapsed = performance.now() - start
  } while (elapsed < 1000)
  return (2 * n * n * n * reps) / (elapsed * 1e6)
}

const sizes = process.argv.slice(2).map(Number)
for (const n of sizes.length > 0 ? sizes : [256, 512]) {
  for (const dtype of ["float32", "float64"] as const) console.log(`gemm ${n}^3 ${dtype}: ${measure(n, dtype).toFixed(2)} GFLOP/s`)
}
