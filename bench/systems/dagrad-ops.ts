/**
 * dagrad cases built from the functional ops alone (W3, GEMM), plus the helpers the
 * model-based cases share. Every case compiles one plan (untimed) and a step is one
 * `plan.run` whose fetched buffers are handed back with `plan.recycle`, which is how a
 * steady-state loop uses dagrad.
 */
import { GraphBuilder, compile, conv2d, gradValues, matmul, type Plan, type Tensor } from "../../src/index.ts"
import { parallelBackend, threadCount } from "../../src/exec/parallel.ts"
import { gemmData, w3Data, type BenchLabels, type BenchTensor } from "../lib/data.ts"
import type { BenchCase, CaseResult, WorkloadId } from "../lib/workloads.ts"

/** Runs a plan once and copies the fetched buffers out by name (for --check). */
export function planOutputs(plan: Plan, feeds: { readonly [name: string]: Tensor }, names: readonly string[]): { [name: string]: Float32Array } {
  const out = plan.run(feeds)
  const result: { [name: string]: Float32Array } = {}
  names.forEach((n, i) => (result[n] = Float32Array.from(out[i].data)))
  plan.recycle(out)
  return result
}

/**
 * A dagrad tensor holding the benchmark numbers. With a thread pool installed, kernels
 * split work only over shared memory, so the copy lives in a SharedArrayBuffer then.
 */
export function engineTensor(t: BenchTensor): Tensor {
  const backend = parallelBackend()
  const data = backend === undefined ? new Float32Array(t.data.length) : (backend.allocShared("float32", t.data.length) as Float32Array)
  data.set(t.data)
  return { shape: [...t.shape], dtype: "float32", data }
}

export function engineLabels(t: BenchLabels): Tensor {
  const backend = parallelBackend()
  const data = backend === undefined ? new Int32Array(t.data.length) : (backend.allocShared("int32", t.data.length) as Int32Array)
  data.set(t.data)
  return { shape: [...t.shape], dtype: "int32", data }
}

/** W3 and GEMM; undefined for the model workloads (see dagrad-nn.ts). */
export function createOpsCase(workload: WorkloadId): CaseResult | undefined {
  const base = { system: "dagrad" as const, workload, threads: threadCount() }
  switch (workload) {
    case "W3": {
      const d = w3Data()
      const b = new GraphBuilder({ dtype: "float32" })
      const x = b.input("x", d.x.shape)
      const w = b.input("weight", d.weight.shape)
      const gy = b.input("gy", d.gy.shape)
      const y = conv2d(x, w, undefined, { padding: 1 })
      // seed = the upstream gradient: dx = conv2d_backward_input(gy, w), dw = ..._weight(gy, x)
      const [dx, dw] = gradValues(b, y, [x, w], { seed: gy })
      const plan = compile(b.graph, [y, dx, dw])
      const feeds = { x: engineTensor(d.x), weight: engineTensor(d.weight), gy: engineTensor(d.gy) }
      return {
        ...base,
        step() {
          plan.recycle(plan.run(feeds))
        },
        outputs: () => planOutputs(plan, feeds, ["y", "dx", "dw"]),
      } satisfies BenchCase
    }
    case "GEMM256":
    case "GEMM512": {
      const n = workload === "GEMM256" ? 256 : 512
      const d = gemmData(n)
      const b = new GraphBuilder({ dtype: "float32" })
      const y = matmul(b.input("a", [n, n]), b.input("b", [n, n]))
      const plan = compile(b.graph, [y])
      const feeds = { a: engineTensor(d.a), b: engineTensor(d.b) }
      return {
        ...base,
        note: "GEMM is timed through the matmul op (graph + plan.run), not the bare kernel (bench/gemm-quick.ts times the kernel)",
        step() {
          plan.recycle(plan.run(feeds))
        },
        outputs: () => planOutputs(plan, feeds, ["y"]),
      } satisfies BenchCase
    }
    default:
      return undefined
  }
}
