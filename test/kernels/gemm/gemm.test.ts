import { describe, expect, it } from "vitest"
import { gemm } from "../../../src/kernels/gemm/gemm.ts"
import { gemmScatterAdd, gemmSerial } from "../../../src/kernels/gemm/serial.ts"
import type { FloatArray } from "../../../src/tensor/dtype.ts"
import { setParallelBackend } from "../../../src/exec/parallel.ts"
import { standInBackend } from "../../helpers.ts"
import { Random } from "../../../src/tensor/random.ts"

function randomArray(rng: Random, n: number, dtype: "float32" | "float64"): Float32Array | Float64Array {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-1, 1)
  return a
}

describe("gemm", () => {
  it("multiplies a hand-worked 2x3 by 3x2", () => {
    const c = new Float64Array(4)
    gemm(false, false, 2, 2, 3, 1, new Float64Array([1, 2, 3, 4, 5, 6]), 3, new Float64Array([1, 0, 0, 1, 1, 1]), 2, 0, c, 2)
    expect(Array.from(c)).toEqual([4, 5, 10, 11])
  })

  // Sizes straddle the 4x3 register tile, the 64-row and 512-column blocks and KC = 256.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [1, 7, 5],
    [7, 1, 5],
    [5, 7, 1],
    [17, 19, 23],
    [13, 11, 300],
    [67, 5, 9],
    [70, 37, 260],
    [9, 515, 3],
  ]
  for (const dtype of ["float64", "float32"] as const) {
    for (const [M, N, K] of shapes) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        it(`${dtype} ${M}x${N}x${K} transA=${transA} transB=${transB} matches the triple loop`, () => {
          const rng = new Random(M * 1000 + N * 10 + K)
          // Padded leading dimensions check that lda/ldb/ldc are honoured.
          const lda = (transA ? M : K) + 2
          const ldb = (transB ? K : N) + 1
          const ldc = N + 3
          const A = randomArray(rng, (transA ? K : M) * lda, dtype)
          const B = randomArray(rng, (transB ? N : K) * ldb, dtype)
          const C = randomArray(rng, M * ldc, dtype)
          const want = new Float64Array(C)
          gemmReference(transA, transB, M, N, K, 0.5, A, lda, B, ldb, -2, want, ldc)
          gemm(transA, transB, M, N, K, 0.5, A, lda, B, ldb, -2, C, ldc)
          const tol = dtype === "float64" ? 1e-12 : 1e-5
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < ldc; j++) {
              const got = C[i * ldc + j]
              const w = j < N ? want[i * ldc + j] : want[i * ldc + j] // padding columns untouched
              if (Math.abs(got - w) > tol * Math.max(1, Math.abs(w))) throw new Error(`C[${i}, ${j}] = ${got}, expected ${w}`)
            }
          }
        })
      }
    }
  }

  it("beta = 0 ignores NaN already in C", () => {
    const c = new Float64Array([NaN, NaN, NaN, NaN])
    gemm(false, false, 2, 2, 1, 1, new Float64Array([1, 2]), 1, new Float64Array([3, 4]), 2, 0, c, 2)
    expect(Array.from(c)).toEqual([3, 4, 6, 8])
  })

  it("K = 0 scales C by beta", () => {
    const c = new Float64Array([1, 2])
    gemm(false, false, 1, 2, 0, 1, new Float64Array(0), 1, new Float64Array(0), 2, 3, c, 2)
    expect(Array.from(c)).toEqual([3, 6])
  })

  it("row blocks computed separately are bit-identical to one call (ready for a row-split thread pool)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const rng = new Random(7)
      const [M, N, K] = [150, 83, 600]
      const A = randomArray(rng, M * K, dtype)
      const B = randomArray(rng, K * N, dtype)
      const whole = dtype === "float32" ? new Float32Array(M * N) : new Float64Array(M * N)
      gemm(false, false, M, N, K, 1, A, K, B, N, 0, whole, N)
      const parts = dtype === "float32" ? new Float32Array(M * N) : new Float64Array(M * N)
      // Uneven splits, including a 1-row block that takes the small-size path.
      const cuts = [0, 1, 38, 101, 150]
      for (let i = 0; i + 1 < cuts.length; i++) {
        const m0 = cuts[i]
        const m = cuts[i + 1] - m0
        gemm(false, false, m, N, K, 1, A.subarray(m0 * K), K, B, N, 0, parts.subarray(m0 * N), N)
      }
      expect(Array.from(parts)).toEqual(Array.from(whole))
    }
  })

  it("splits large products by rows on a parallel backend with the same bits (staging unshared operands)", () => {
    // A stand-in backend: 3 "threads", runs the parts in reverse order on this thread, and
    // treats only its own allocations as shared, so non-shared operands get staged.
    const parts: number[][] = []
    const backend = standInBackend({ threads: 3, ownShared: true, onRun: (_task, ps) => [...ps].reverse().forEach((p) => parts.push([p.numbers[2], p.numbers[3]])) })
    for (const dtype of ["float32", "float64"] as const) {
      const rng = new Random(11)
      const [M, N, K] = [101, 130, 300]
      const A = randomArray(rng, K * M, dtype) // stored K x M (transA)
      const B = randomArray(rng, K * N, dtype)
      const want = randomArray(rng, M * (N + 2), dtype)
      const got = want.slice()
      gemmSerial(true, false, M, N, K, 0.5, A, M, B, N, 0.25, want, N + 2)
      setParallelBackend(backend)
      try {
        gemm(true, false, M, N, K, 0.5, A, M, B, N, 0.25, got, N + 2)
      } finally {
        setParallelBackend(undefined)
      }
      expect(Array.from(got)).toEqual(Array.from(want))
    }
    expect(parts.slice(0, 3).sort((a, b) => a[0] - b[0])).toEqual([
      [0, 32],
      [32, 68],
      [68, 101],
    ])
  })
})

describe("gemmScatterAdd", () => {
  // Against the plain product scattered by hand: sizes straddle the tile and KC, offsets
  // repeat (several entries land on one target, as in col2im), both transposes.
  it("adds each entry of op(A) op(B) at rowOffsets[i] + colOffsets[j]", () => {
    const rng = new Random(7)
    for (const [M, N, K] of [
      [1, 1, 1],
      [5, 7, 3],
      [13, 11, 16],
      [70, 40, 300],
    ]) {
      for (const [transA, transB] of [
        [false, false],
        [true, false],
        [false, true],
      ] as const) {
        const A = randomArray(rng, M * K, "float32")
        const B = randomArray(rng, K * N, "float32")
        const rows = Int32Array.from({ length: M }, () => Math.floor(rng.uniform(0, 20)))
        const cols = Int32Array.from({ length: N }, () => Math.floor(rng.uniform(0, 20)))
        const target = new Float64Array(40).fill(0.5)
        gemmScatterAdd(transA, transB, M, N, K, A, transA ? M : K, B, transB ? K : N, rows, cols, target)
        const product = new Float64Array(M * N)
        gemmReference(transA, transB, M, N, K, 1, A, transA ? M : K, B, transB ? K : N, 0, product, N)
        const want = new Float64Array(40).fill(0.5)
        for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[rows[i] + cols[j]] += product[i * N + j]
        for (let i = 0; i < 40; i++) expect(target[i]).toBeCloseTo(want[i], 9)
      }
    }
  })

  // The order its header promises, written out: blocks of gemm.ts (NC 512 columns, KC 256
  // deep, MC 64 rows), 3-column panels outer and 4-row panels inner, each tile's entries
  // (a float64 dot product over the block) added row by row, columns in order. With
  // offsets that collide, any other order of the additions gives other bits.
  it("adds the entries in the documented order (bit for bit, colliding offsets)", () => {
    const rng = new Random(11)
    for (const [M, N, K] of [
      [150, 100, 16],
      [70, 41, 300],
      [9, 530, 5],
    ]) {
      const A = randomArray(rng, K * M, "float32") // stored K x M (transA, as the conv input gradient)
      const B = randomArray(rng, K * N, "float32")
      const rows = Int32Array.from({ length: M }, () => Math.floor(rng.uniform(0, 8)))
      const cols = Int32Array.from({ length: N }, () => Math.floor(rng.uniform(0, 8)))
      const target = new Float64Array(16).fill(0.25)
      gemmScatterAdd(true, false, M, N, K, A, M, B, N, rows, cols, target)
      const want = new Float64Array(16).fill(0.25)
      for (let jc = 0; jc < N; jc += 512) {
        for (let pc = 0; pc < K; pc += 256) {
          for (let ic = 0; ic < M; ic += 64) {
            for (let jr = jc; jr < Math.min(N, jc + 512); jr += 3) {
              for (let ir = ic; ir < Math.min(M, ic + 64); ir += 4) {
                for (let i = ir; i < Math.min(ir + 4, M, ic + 64); i++) {
                  for (let j = jr; j < Math.min(jr + 3, N, jc + 512); j++) {
                    let acc = 0
                    for (let p = pc; p < Math.min(K, pc + 256); p++) acc += A[p * M + i] * B[p * N + j]
                    want[rows[i] + cols[j]] += acc
                  }
                }
              }
            }
          }
        }
      }
      expect(Array.from(target)).toEqual(Array.from(want))
    }
  })
})

/** C = alpha * op(A) op(B) + beta * C by the textbook triple loop: the reference the packed kernel is checked against. */
function gemmReference(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: ArrayLike<number>,
  lda: number,
  B: ArrayLike<number>,
  ldb: number,
  beta: number,
  C: FloatArray,
  ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0
      for (let p = 0; p < K; p++) acc += (transA ? A[p * lda + i] : A[i * lda + p]) * (transB ? B[j * ldb + p] : B[p * ldb + j])
      C[i * ldc + j] = alpha * acc + (beta === 0 ? 0 : beta * C[i * ldc + j])
    }
  }
}
