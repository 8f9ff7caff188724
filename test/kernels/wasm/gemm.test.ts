// The WASM SIMD GEMM against a float64 reference computed here by the textbook triple loop,
// at float32 tolerance; and the properties the executor relies on (row splits and
// in-place vs staged operands give the same bits).
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { gemmWasm } from "../../../src/kernels/wasm/gemm.ts"
import { arenaAlloc, createArena, wasmAvailable } from "../../../src/kernels/wasm/module.ts"
import { Code, assembleModule, i32 } from "../../../src/kernels/wasm/emit.ts"

const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1

function reference(ta: boolean, tb: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): { value: Float64Array; bound: Float64Array } {
  const value = new Float64Array(M * N)
  const bound = new Float64Array(M * N)
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0
      let a = 0
      for (let k = 0; k < K; k++) {
        const x = ta ? A[k * lda + i] : A[i * lda + k]
        const y = tb ? B[j * ldb + k] : B[k * ldb + j]
        s += x * y
        a += Math.abs(x * y)
      }
      const c = beta === 0 ? 0 : beta * C[i * ldc + j]
      value[i * N + j] = alpha * s + c
      bound[i * N + j] = Math.abs(alpha) * a + Math.abs(c)
    }
  }
  return { value, bound }
}

describe("WASM SIMD gemm", () => {
  it("validates and runs here (Node 20 has SIMD)", () => {
    expect(wasmAvailable()).toBe(true)
  })

  it("the assembler writes a module a hand-worked function runs in (i32 add)", () => {
    const body = new Code().get(0).get(1).i32_add()
    const bytes = assembleModule({ shared: false, maximumPages: 1 }, [{ name: "add", params: [i32, i32], results: [i32], body }])
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 })
    const add = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.add as (a: number, b: number) => number
    expect(add(40, 2)).toBe(42)
    expect(add(-5, 3)).toBe(-2)
  })

  it("matches the float64 product within float32 rounding (shapes, transposes, strides, alpha, beta)", () => {
    fc.assert(
      fc.property(
        fc.record({ M: fc.integer({ min: 1, max: 70 }), N: fc.integer({ min: 1, max: 40 }), K: fc.integer({ min: 1, max: 600 }), ta: fc.boolean(), tb: fc.boolean(), pad: fc.integer({ min: 0, max: 3 }), alpha: fc.constantFrom(1, 0.5, -2), beta: fc.constantFrom(0, 1, 0.25), seed: fc.integer({ min: 1, max: 1e6 }) }),
        ({ M, N, K, ta, tb, pad, alpha, beta, seed }) => {
          const r = rng(seed)
          const lda = (ta ? M : K) + pad
          const ldb = (tb ? K : N) + pad
          const ldc = N + pad
          const A = Float32Array.from({ length: (ta ? K : M) * lda }, r)
          const B = Float32Array.from({ length: (tb ? N : K) * ldb }, r)
          const C = Float32Array.from({ length: M * ldc }, r)
          const want = reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
          if (beta === 0) for (let i = 0; i < C.length; i++) if (i % 7 === 0) C[i] = NaN // ignored when beta is 0
          const got = C.slice()
          expect(gemmWasm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc)).toBe(true)
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              const tol = 2 * (K + 2) * 2 ** -24 * want.bound[i * N + j] + 1e-30
              const d = Math.abs(got[i * ldc + j] - want.value[i * N + j])
              if (!(d <= tol)) expect.fail(`C[${i}, ${j}] = ${got[i * ldc + j]}, want ${want.value[i * N + j]} (tolerance ${tol})`)
            }
            // the padding columns of C are never written
            for (let j = N; j < ldc; j++) expect(Object.is(got[i * ldc + j], C[i * ldc + j])).toBe(true)
          }
        },
      ),
      { numRuns: 60 },
    )
  })

  it("gives the same bits for row blocks computed separately, and in place as staged", () => {
    const M = 37, N = 45, K = 700
    const r = rng(7)
    const arena = createArena((M * K + K * N + 3 * M * N) * 4 + 1024)!
    const A = arenaAlloc(arena, M * K)!
    const B = arenaAlloc(arena, K * N)!
    A.set(Float32Array.from({ length: M * K }, r))
    B.set(Float32Array.from({ length: K * N }, r))
    const whole = arenaAlloc(arena, M * N)!
    gemmWasm(false, false, M, N, K, 1, A, K, B, N, 0, whole, N)
    const split = arenaAlloc(arena, M * N)!
    for (const [i0, i1] of [[0, 13], [13, 14], [14, 37]]) gemmWasm(false, false, i1 - i0, N, K, 1, A.subarray(i0 * K), K, B, N, 0, split.subarray(i0 * N), N)
    const staged = new Float32Array(M * N)
    gemmWasm(false, false, M, N, K, 1, A.slice(), K, B.slice(), N, 0, staged, N)
    for (let i = 0; i < M * N; i++) {
      expect(Object.is(split[i], whole[i])).toBe(true)
      expect(Object.is(staged[i], whole[i])).toBe(true)
    }
  })
})
