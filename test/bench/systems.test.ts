// The benchmark's systems beside dagrad (bench/systems/): dagrad-js's backend switch,
// tfjs-wasm's skips and probe, pytorch's remote cases, and the harness pieces they use.
import { spawnSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { summarize, speedupTable, type Measurement } from "../../bench/lib/harness.ts"
import { gemmData } from "../../bench/lib/data.ts"
import { isRemote, isSkipped, type BenchCase, type CaseResult } from "../../bench/lib/workloads.ts"
import { dagradJsAdapter, withBackend } from "../../bench/systems/dagrad.ts"
import { kernelBackend } from "../../src/kernels/backend.ts"

/** C = A B for n x n row-major matrices, in float64 (the reference for the GEMM outputs). */
function matmul64(a: Float32Array, b: Float32Array, n: number): Float64Array {
  const c = new Float64Array(n * n)
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j]
  return c
}

/** max |got - want| / max |want|. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0
  let scale = 0
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]))
    scale = Math.max(scale, Math.abs(want[i]))
  }
  return diff / scale
}

const m = (system: Measurement["system"], threads: number, medianMs: number): Measurement => ({
  system,
  workload: "W1",
  threads,
  iterations: 3,
  medianMs,
  minMs: medianMs,
  maxMs: medianMs,
  itemsPerS: 0,
})

describe("harness", () => {
  it("summarize: median, min, max and items/s of the given times; the thread count can be overridden", () => {
    const s = summarize({ system: "pytorch", workload: "W1", threads: 2 }, [4, 1, 2, 8], 1)
    expect(s).toMatchObject({ threads: 1, iterations: 4, medianMs: 3, minMs: 1, maxMs: 8 })
    // W1 is 64 images: 64 / 3 ms
    expect(s.itemsPerS).toBeCloseTo(64 / 0.003, 6)
    expect(() => summarize({ system: "pytorch", workload: "W1", threads: 1 }, [])).toThrow(/no timed iterations/)
  })
  it("speedupTable compares each dagrad row with the other system's row of the same thread count, else its 1-thread row", () => {
    const table = speedupTable([m("dagrad", 1, 10), m("dagrad", 2, 5), m("pytorch", 1, 5), m("pytorch", 2, 20), m("tfjs-cpu", 1, 100)])!
    const rows = table.split("\n").slice(2)
    // 1 thread: pytorch 5 / 10, tfjs 100 / 10; 2 threads: pytorch 20 / 5, tfjs (1 thread) 100 / 5
    expect(rows[0].split(/\s+/)).toEqual(["W1", "1", "10.00", "0.500x", "10.00x"])
    expect(rows[1].split(/\s+/)).toEqual(["W1", "2", "5.000", "4.000x", "20.00x"])
  })
})

describe("dagrad-js", () => {
  it("withBackend forces the backend for the call and puts the process's default back, also on a throw", () => {
    const before = kernelBackend()
    expect(withBackend("js", () => kernelBackend())).toBe("js")
    expect(kernelBackend()).toBe(before)
    expect(() =>
      withBackend("js", () => {
        throw new Error("boom")
      }),
    ).toThrow("boom")
    expect(kernelBackend()).toBe(before)
  })
  it("names itself, reports the js backend, computes GEMM256, and leaves the process's backend alone", async () => {
    const before = kernelBackend()
    expect(dagradJsAdapter.version).toMatch(/kernel backend js$/)
    const c = (await dagradJsAdapter.createCase("GEMM256", 1)) as BenchCase
    expect(c.system).toBe("dagrad-js")
    const d = gemmData(256)
    expect(relError(c.outputs!().y, matmul64(d.a.data, d.b.data, 256))).toBeLessThan(1e-6)
    expect(kernelBackend()).toBe(before)
    c.dispose?.()
  })
})

describe("tfjs-wasm", () => {
  it("skips the workloads whose backward pass needs Conv2DBackpropFilter, as an expected skip", async () => {
    const { tfjsWasmAdapter } = await import("../../bench/systems/tfjs-wasm.ts")
    for (const w of ["W1", "W3"] as const) {
      const c = await tfjsWasmAdapter.createCase(w, 1)
      expect(isSkipped(c) && c.expected).toBe(true)
      expect(isSkipped(c) && c.skip).toMatch(/cannot train\/differentiate: .*'Conv2DBackpropFilter'/)
    }
    expect(await tfjsWasmAdapter.threadsUnavailable!(2)).toMatch(/WASM_HAS_MULTITHREAD_SUPPORT/)
  })
  it("computes GEMM256, and flags W2 with the MaxPoolGrad probe's finding", async () => {
    const { tfjsWasmAdapter } = await import("../../bench/systems/tfjs-wasm.ts")
    const gemm = (await tfjsWasmAdapter.createCase("GEMM256", 1)) as BenchCase
    const d = gemmData(256)
    expect(relError(gemm.outputs!().y, matmul64(d.a.data, d.b.data, 256))).toBeLessThan(1e-5)
    gemm.dispose?.()
    // TF.js 4.22's wasm MaxPoolGrad: [-4, -3, -2, -1] routes the gradient to the -4
    const pool = (await tfjsWasmAdapter.createCase("W2", 1)) as BenchCase
    expect(pool.knownMismatch).toMatch(/gives dx \[1, 0, 0, 0\]/)
    pool.dispose?.()
  })
})

const torchAvailable = ["python3", "/usr/bin/python3"].some((p) => spawnSync(p, ["-c", "import torch"]).status === 0)

describe.skipIf(!torchAvailable)("pytorch", () => {
  it("times a case in Python with the harness's options and returns the same GEMM as the reference", async () => {
    const { pytorchAdapter } = await import("../../bench/systems/pytorch.ts")
    const c: CaseResult = await pytorchAdapter.createCase("GEMM256", 1)
    if (!isRemote(c)) throw new Error("expected a remote case")
    const r = await c.time({ warmup: 1, warmupMs: 0, iterations: 2, budgetMs: 60_000, minIterations: 1 })
    expect(r.threads).toBe(1)
    expect(r.times).toHaveLength(2)
    expect(r.times.every((t) => t > 0)).toBe(true)
    const d = gemmData(256)
    expect(relError((await c.outputs!()).y, matmul64(d.a.data, d.b.data, 256))).toBeLessThan(1e-5)
  })
  it("trains W1 from the shared weights: the first loss is PyTorch's ln(10)-ish value dagrad also starts from", async () => {
    const { pytorchAdapter } = await import("../../bench/systems/pytorch.ts")
    const c = await pytorchAdapter.createCase("W1", 1)
    if (!isRemote(c)) throw new Error("expected a remote case")
    const losses = await c.losses!(2)
    // bench/README.md: every system starts from 2.303812 on this batch and these weights
    expect(losses[0]).toBeCloseTo(2.303812, 5)
    expect(losses[1]).toBeLessThan(losses[0])
  })
})
