/**
 * How fast can a scalar GEMM micro-kernel run on this machine from JavaScript at all?
 *
 * The 5 GFLOP/s-per-thread target assumes a pure-JS kernel reaches ~5.3. This
 * measures the register-tiled micro-kernel that gemm.ts uses (an MR x NR tile of C in
 * locals, A and B read from packed float64 panels that stay in L1/L2, KC = 256) compiled
 * two ways from the same source text:
 *
 *  - asm.js: V8 validates the module and compiles it ahead of time to WebAssembly, so the
 *    loop has no typed-array bounds checks, map checks or overflow checks: the best the
 *    same scalar arithmetic can do in this engine (V8 has no scalar auto-vectoriser);
 *  - plain JS: the identical text without the "use asm" directive, run by TurboFan.
 *
 * and dagrad's own gemmSerial on a 512^3 product (packing included) for reference. The
 * asm.js figure is an upper bound for any pure-JS scalar kernel of this shape; it is not
 * used by the library (asm.js needs a non-shared ArrayBuffer heap and is a deprecated
 * dialect). Usage: `npx tsx bench/gemm-ceiling.ts`. Prints numbers only (shared machine).
 */
import os from "node:os"
import v8 from "node:v8"
import { gemmSerial } from "../src/kernels/gemm/serial.ts"

v8.setFlagsFromString("--allow-natives-syntax")
const isAsmWasmCode = new Function("f", "return %IsAsmWasmCode(f)") as (f: unknown) => boolean

const KC = 256
/** Rows of packed A (one MC block of gemm.ts) and columns of packed B. */
const MC = 64
const NC = 510

interface Kernel {
  inner(aByte: number, bByte: number, tileByte: number, kc: number): void
}
type KernelFactory = (stdlib: unknown, foreign: unknown, heap: ArrayBuffer) => Kernel

/**
 * The body of a module with one function, inner(aOff, bOff, tOff, kc): an MR x NR tile
 * C = sum over p < kc of A[p][r] * B[p][c], A and B packed panels at byte offsets aOff and
 * bOff, the tile stored at tOff. Written in the asm.js dialect (x|0, +x, 0.0), which is
 * also ordinary JavaScript. Built as text so no compiler rewrites its literals.
 */
function kernelSource(MR: number, NR: number, asm: boolean): string {
  const acc: string[] = []
  const body: string[] = []
  const store: string[] = []
  const loadB: string[] = []
  for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) acc.push(`c${r}${c} = 0.0`)
  for (let c = 0; c < NR; c++) {
    acc.push(`b${c} = 0.0`)
    loadB.push(`b${c} = +H[(bOff + ${8 * c}) >> 3];`)
  }
  for (let r = 0; r < MR; r++) {
    body.push(`av = +H[(aOff + ${8 * r}) >> 3];`)
    for (let c = 0; c < NR; c++) body.push(`c${r}${c} = c${r}${c} + av * b${c};`)
  }
  for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) store.push(`H[(tOff + ${8 * (r * NR + c)}) >> 3] = c${r}${c};`)
  return `${asm ? '"use asm";' : ""}
  var H = new stdlib.Float64Array(heap);
  function inner(aOff, bOff, tOff, kc) {
    aOff = aOff | 0; bOff = bOff | 0; tOff = tOff | 0; kc = kc | 0;
    var ${acc.join(", ")}, av = 0.0, end = 0;
    end = (aOff + (kc * ${8 * MR})) | 0;
    while ((aOff | 0) < (end | 0)) {
      ${loadB.join(" ")}
      ${body.join(" ")}
      aOff = (aOff + ${8 * MR}) | 0; bOff = (bOff + ${8 * NR}) | 0;
    }
    ${store.join(" ")}
  }
  return { inner: inner };`
}

/** Best GFLOP/s over 5 rounds of >= 300 ms of the MC x NC x KC macro-kernel loop. */
function measureKernel(MR: number, NR: number, asm: boolean): { gflops: number; validated: boolean } {
  const factory = new Function("stdlib", "foreign", "heap", kernelSource(MR, NR, asm)) as KernelFactory
  const heap = new ArrayBuffer(1 << 21)
  const H = new Float64Array(heap)
  const aBase = 0
  const bBase = MC * KC
  const tBase = bBase + (NC + NR) * KC
  for (let i = 0; i < bBase; i++) H[aBase + i] = Math.sin(i)
  for (let i = bBase; i < tBase; i++) H[i] = Math.cos(i)
  const kernel = factory(globalThis, {}, heap)
  const mc = Math.floor(MC / MR) * MR
  const nc = Math.floor(NC / NR) * NR
  const C = new Float64Array(mc * nc)
  const macro = (): void => {
    for (let jr = 0, b = bBase; jr < nc; jr += NR, b += NR * KC) {
      for (let ir = 0, a = aBase; ir < mc; ir += MR, a += MR * KC) {
        kernel.inner(a * 8, b * 8, tBase * 8, KC)
        for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) C[(ir + r) * nc + jr + c] = H[tBase + r * NR + c]
      }
    }
  }
  return { gflops: bestGflops(2 * mc * nc * KC, macro), validated: isAsmWasmCode(factory) }
}

function bestGflops(flops: number, run: () => void): number {
  for (let i = 0; i < 20; i++) run()
  let best = 0
  for (let round = 0; round < 5; round++) {
    const start = performance.now()
    let reps = 0
    while (performance.now() - start < 300) {
      run()
      reps++
    }
    best = Math.max(best, (flops * reps) / ((performance.now() - start) * 1e6))
  }
  return best
}

function dagradGemm512(): number {
  const n = 512
  const a = new Float32Array(n * n).map((_, i) => Math.sin(i))
  const b = new Float32Array(n * n).map((_, i) => Math.cos(i))
  const c = new Float32Array(n * n)
  return bestGflops(2 * n * n * n, () => gemmSerial(false, false, n, n, n, 1, a, n, b, n, 0, c, n))
}

const cpu = os.cpus()[0]
const mhz = cpu !== undefined && cpu.speed > 0 ? `, ${cpu.speed} MHz` : ""
console.log(`${cpu?.model ?? "unknown CPU"}${mhz}, Node ${process.version}; best of 5 x 300 ms`)
console.log("micro-kernel over packed float64 panels (A 64 x 256, B 256 x 510, in cache), one thread:")
console.log("tile   asm.js (AOT, no checks)   plain JS (TurboFan)")
for (const [MR, NR] of [
  [4, 3],
  [3, 4],
  [4, 4],
  [4, 2],
  [2, 4],
]) {
  const asm = measureKernel(MR, NR, true)
  const js = measureKernel(MR, NR, false)
  const note = asm.validated ? "" : "  (asm.js NOT validated: ran as plain JS)"
  console.log(`${MR}x${NR}    ${asm.gflops.toFixed(2).padStart(5)} GFLOP/s             ${js.gflops.toFixed(2).padStart(5)} GFLOP/s${note}`)
}
console.log(`dagrad gemmSerial 512^3 float32 (packing included): ${dagradGemm512().toFixed(2)} GFLOP/s`)
