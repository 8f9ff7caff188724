/**
 * The dagrad adapters: W3/GEMM from the functional ops, W1/W2/W4 from src/nn (lazily).
 * `dagrad` runs the default float32 kernel backend, `dagrad-js` forces the JavaScript
 * kernels (src/kernels/backend.ts): the same cases, so the two rows compare the backends.
 */
import { kernelBackend, setKernelBackend, type KernelBackendName } from "../../src/kernels/backend.ts"
import { SYSTEM_ENV, isSkipped, type BenchCase, type CaseResult, type SystemAdapter, type WorkloadId } from "../lib/workloads.ts"
import { createOpsCase } from "./dagrad-ops.ts"

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0]

async function createCase(workload: WorkloadId): Promise<CaseResult> {
  const fromOps = createOpsCase(workload)
  if (fromOps !== undefined) return fromOps
  let nn: typeof import("./dagrad-nn.ts")
  try {
    nn = await import("./dagrad-nn.ts")
  } catch (e) {
    return { skip: `dagrad: src/nn does not load yet (${message(e)})` }
  }
  const c = nn.createNnCase(workload)
  if (c === undefined) throw new Error(`dagrad: no case for ${workload}`)
  return c
}

/** The backend the process starts with: DAGRAD_BACKEND if set, else the engine's default. */
const processBackend = (): KernelBackendName | undefined => {
  const v = process.env.DAGRAD_BACKEND
  return v === "js" || v === "wasm" ? v : undefined
}

/**
 * Runs `f` with the kernel backend `backend` (undefined: the process's own), then puts
 * the process's back: `--check` runs dagrad and dagrad-js in one process.
 */
export function withBackend<T>(backend: KernelBackendName | undefined, f: () => T): T {
  setKernelBackend(backend ?? processBackend())
  try {
    return f()
  } finally {
    setKernelBackend(processBackend())
  }
}

/** A dagrad adapter whose cases build and run with `backend` (undefined: the default). */
function dagradSystem(name: "dagrad" | "dagrad-js", backend: KernelBackendName | undefined): SystemAdapter {
  return {
    name,
    get version() {
      return `dagrad (this checkout), float32 kernel backend ${withBackend(backend, kernelBackend)}`
    },
    notes: [],
    threading: "pool",
    async createCase(workload) {
      setKernelBackend(backend ?? processBackend())
      let c: CaseResult
      try {
        c = await createCase(workload)
      } finally {
        setKernelBackend(processBackend())
      }
      if (isSkipped(c) || backend === undefined) return c
      const inner = c as BenchCase
      return {
        ...inner,
        system: name,
        step: () => withBackend(backend, () => inner.step()),
        outputs: inner.outputs && (() => withBackend(backend, () => inner.outputs!())),
        dispose: inner.dispose && (() => withBackend(backend, () => inner.dispose!())),
      } satisfies BenchCase
    },
  }
}

export const dagradAdapter: SystemAdapter = dagradSystem("dagrad", undefined)

/** dagrad with the JavaScript kernels forced (its worker pool gets SYSTEM_ENV's DAGRAD_BACKEND). */
export const dagradJsAdapter: SystemAdapter = dagradSystem("dagrad-js", SYSTEM_ENV["dagrad-js"]!.DAGRAD_BACKEND as KernelBackendName)
