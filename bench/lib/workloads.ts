/** Workload and system names, and what one timed iteration of each system/workload is. */
import type { MeasureOptions } from "./harness.ts"

export const WORKLOADS = ["W1", "W2", "W3", "W4", "GEMM256", "GEMM512"] as const
export type WorkloadId = (typeof WORKLOADS)[number]

export const SYSTEMS = ["dagrad", "dagrad-js", "tfjs-cpu", "tfjs-wasm", "convnetjs", "pytorch"] as const
export type SystemName = (typeof SYSTEMS)[number]

/**
 * Environment a system's benchmark process needs, set before anything loads: its child
 * process is spawned with it (runIsolated), and `--check`, which runs every system in one
 * process, sets it while the system's worker pool starts (workers copy the environment
 * when they are created). `DAGRAD_BACKEND` is read by src/kernels/backend.ts at load.
 */
export const SYSTEM_ENV: { readonly [K in SystemName]?: { readonly [name: string]: string } } = {
  "dagrad-js": { DAGRAD_BACKEND: "js" },
}

export interface WorkloadInfo {
  readonly id: WorkloadId
  readonly title: string
  /** Items per iteration: images (W1, W4), batch items (W2, W3), GFLOP (GEMM). */
  readonly items: number
  readonly unit: string
}

const gemmGflop = (n: number): number => (2 * n * n * n) / 1e9

export const WORKLOAD_INFO: { readonly [K in WorkloadId]: WorkloadInfo } = {
  W1: { id: "W1", title: "LeNet-5 training step, batch 64 (fwd + bwd + SGD + read loss)", items: 64, unit: "images/s" },
  W2: { id: "W2", title: "max_pool2d 2x2/2 fwd + bwd on [32, 64, 56, 56]", items: 32, unit: "items/s" },
  W3: { id: "W3", title: "conv2d 3x3 pad 1, [32, 32, 28, 28] -> 64 ch: fwd + dx + dw", items: 32, unit: "items/s" },
  W4: { id: "W4", title: "LeNet-5 inference, batch 256", items: 256, unit: "images/s" },
  GEMM256: { id: "GEMM256", title: "256^3 float32 matmul", items: gemmGflop(256), unit: "GFLOP/s" },
  GEMM512: { id: "GEMM512", title: "512^3 float32 matmul", items: gemmGflop(512), unit: "GFLOP/s" },
}

/**
 * One runnable system/workload pair. `step` is the timed unit; for W1 it returns the
 * loss it read (the value is used by `--check`). Everything in the factory that creates
 * a case (graph building, layout conversion, weight upload) is untimed.
 */
export interface BenchCase {
  readonly system: SystemName
  readonly workload: WorkloadId
  /** Threads the system computes with (1 for the single-threaded anchors). */
  readonly threads: number
  step(): number | void
  /**
   * For `--check`: runs one more step and returns its results in PyTorch layouts (NCHW,
   * OIHW, row-major), by name (`y`, `dx`, `dw`), to compare systems element by element.
   */
  outputs?(): { readonly [name: string]: ArrayLike<number> }
  /** Releases what the case holds (TF.js tensors, plan buffers). */
  dispose?(): void
  /** Free-text caveat printed with the results. */
  readonly note?: string
  /**
   * Why this system's results are known to differ from the reference (a bug of the system
   * itself, shown by a probe): `--check` prints the difference but does not fail on it.
   */
  readonly knownMismatch?: string
}

/** A pair that does not apply or cannot run, with the reason. */
export interface SkippedCase {
  readonly skip: string
  /**
   * The system cannot do this workload at all, or is an optional system that is not
   * installed: `--check` reports the skip without failing (other skips fail it).
   */
  readonly expected?: boolean
}

/** Named results in PyTorch layouts (see {@link BenchCase.outputs}). */
export type Outputs = { readonly [name: string]: ArrayLike<number> }

/**
 * A case computed in another process (PyTorch): it times itself with the harness's
 * options and reports per-iteration wall times, so there is no `step` to time here.
 */
export interface RemoteCase {
  readonly system: SystemName
  readonly workload: WorkloadId
  readonly threads: number
  /** Per-iteration milliseconds, measured the way harness.measure does it. */
  time(o: MeasureOptions): Promise<{ threads: number; times: number[] }>
  /** For `--check` (W1): the losses of `steps` training steps. */
  losses?(steps: number): Promise<number[]>
  /** For `--check`: as {@link BenchCase.outputs}. */
  outputs?(): Promise<Outputs>
  readonly note?: string
}

export type CaseResult = BenchCase | RemoteCase | SkippedCase

export const isSkipped = (c: CaseResult): c is SkippedCase => "skip" in c

export const isRemote = (c: CaseResult): c is RemoteCase => "time" in c

/** A system adapter: builds cases for a workload (async so modules can load lazily). */
export interface SystemAdapter {
  readonly name: SystemName
  /** Version string shown in the header. */
  readonly version: string
  /** Layout / precision caveats shown in the header. */
  readonly notes: readonly string[]
  /**
   * How the system uses more than one thread: "pool" = dagrad's worker pool, started
   * around its cases (run.ts withThreads); "native" = the system is handed the count in
   * `createCase` and threads itself (or skips). Absent: single-threaded, measured at 1.
   */
  readonly threading?: "pool" | "native"
  /** Why the system cannot run on this machine at all (not installed); absent: it can. */
  readonly unavailable?: string
  /** A "native" system's reason it cannot run `threads` threads here (undefined: it can). */
  threadsUnavailable?(threads: number): Promise<string | undefined>
  /**
   * A minutes-per-step anchor (tfjs-cpu, ConvNetJS): measured with the anchor options
   * (--quick: no warm-up, a shorter budget) instead of dagrad's.
   */
  readonly anchor?: boolean
  createCase(workload: WorkloadId, threads: number): CaseResult | Promise<CaseResult>
}
