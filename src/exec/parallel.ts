import type { Registry } from "../graph/registry.ts"
import type { DataArray } from "../tensor/dtype.ts"

/**
 * Fork-join parallelism for kernels, browser-safe: the core only sees this interface.
 * Node installs a worker_threads backend (src/node/threads.ts); without one every task
 * runs on the calling thread. Tasks are named functions registered in {@link parallelTasks}
 * (the same module is loaded in every worker), and they receive only typed arrays and
 * numbers, so a task's work is defined by its arguments and can run on any thread.
 *
 * Determinism: a kernel splits its work so that every output element is computed by
 * exactly one part, in an order that does not depend on the split. Results are then the
 * same bits with 1 or N threads.
 */
export interface TaskArgs {
  readonly arrays: readonly DataArray[]
  readonly numbers: readonly number[]
  /** A description that is not numbers (a graph node's op, attrs and shapes: exec/offload.ts). */
  readonly text?: string
}

/** A parallel task: one part of a kernel's work, run on any thread with only the arrays and numbers it is given. */
export type TaskFunction = (args: TaskArgs) => void

/** What a thread pool gives the kernels: a thread count, shared buffers, and running named tasks in parallel. `dagrad/node`'s `startThreadPool` is one. */
export interface ParallelBackend {
  readonly threads: number
  /** A zero-filled buffer that every worker can read and write. */
  allocShared(dtype: "float32" | "float64" | "int32", size: number): DataArray
  /** True when `a` lives in memory the workers can see. */
  isShared(a: DataArray): boolean
  /** Runs `task` once per entry of `parts`, in parallel, and returns when all are done. */
  run(task: string, parts: readonly TaskArgs[]): void
  /**
   * Runs `part` of `task` on another thread while `local` runs on this one, and returns
   * when both are done (see {@link runBeside}). Optional: without it, they run in turn.
   */
  runBeside?(task: string, part: TaskArgs, local: () => void): void
  /**
   * The ops every thread of this backend can run by name (each worker builds the same
   * registry): the executor runs a node of one of these ops on another thread beside a
   * second node (exec/offload.ts). Without it, nodes run on the calling thread only.
   */
  readonly registry?: Registry
}

/** Task functions by name. Kernels register theirs at module load. */
export const parallelTasks = new Map<string, TaskFunction>()

let backend: ParallelBackend | undefined

/** Installs the backend kernels split their work across (`undefined` removes it: every task then runs on the calling thread). */
export function setParallelBackend(b: ParallelBackend | undefined): void {
  backend = b
}

/** The installed backend, or `undefined` when kernels run on the calling thread only. */
export function parallelBackend(): ParallelBackend | undefined {
  return backend
}

let adaptive = true

/**
 * Whether plan runs choose between one thread and all of them by measured speed (default
 * true; RunOptions.adaptiveThreads overrides it per run). Benchmarks of a fixed thread
 * count turn it off.
 */
export function setAdaptiveThreads(on: boolean): void {
  adaptive = on
}

/** See {@link setAdaptiveThreads}. */
export function adaptiveThreads(): boolean {
  return adaptive
}

/** Depth of {@link runSerially} sections on this thread. */
let serialDepth = 0

/**
 * The number of threads kernels may split work across: 1 without a backend, and 1 while
 * this thread runs one side of {@link runBeside} (the other threads are busy).
 */
export function threadCount(): number {
  return serialDepth > 0 ? 1 : (backend?.threads ?? 1)
}

/** Runs `f` with kernels seeing one thread (they run serially, without posting tasks). */
export function runSerially<T>(f: () => T): T {
  serialDepth++
  try {
    return f()
  } finally {
    serialDepth--
  }
}

/**
 * True when {@link runBeside} runs its two sides at the same time here: with exactly two
 * threads. With more, each side would run on one thread while the others idle, where a
 * split of each node across all of them may well be faster (each side would need its share
 * of the threads; not built, and not measurable on this project's 2-core machine).
 */
export function canRunBeside(): boolean {
  return backend?.runBeside !== undefined && threadCount() === 2
}

/**
 * Two independent pieces of work at once: `part` of `task` on another thread and `local`
 * on this one, each seeing one thread. How the executor runs two independent graph nodes
 * side by side (a convolution's input and weight gradients) instead of splitting each
 * across the threads in turn. Without a backend that can, or when an array is not shared,
 * the task runs first and then `local`, here, as usual. Either way each side computes what
 * it would alone: kernels' results never depend on the thread count.
 */
export function runBeside(task: string, part: TaskArgs, local: () => void): void {
  const b = backend
  if (b !== undefined && canRunBeside() && part.arrays.every((a) => b.isShared(a))) {
    b.runBeside!(task, part, local)
    return
  }
  taskFunction(task)(part)
  local()
}

/** The registered task `task`; throws naming it when no module registered it. */
export function taskFunction(task: string): TaskFunction {
  const fn = parallelTasks.get(task)
  if (fn === undefined) throw new Error(`no parallel task named '${task}'`)
  return fn
}

/**
 * Runs `parts` of a registered task: on the backend when there is one and every array is
 * shared, else one after another on this thread (same results either way).
 */
export function runTask(task: string, parts: readonly TaskArgs[]): void {
  const fn = taskFunction(task)
  const b = backend
  if (b !== undefined && serialDepth === 0 && parts.length > 1 && parts.every((p) => p.arrays.every((a) => b.isShared(a)))) {
    b.run(task, parts)
    return
  }
  for (const p of parts) fn(p)
}

/** Splits [0, n) into at most `parts` contiguous ranges whose bounds are multiples of `align`. */
export function splitRange(n: number, parts: number, align = 1): [number, number][] {
  const units = Math.ceil(n / align)
  const k = Math.max(1, Math.min(parts, units))
  const out: [number, number][] = []
  for (let i = 0; i < k; i++) {
    const start = Math.min(n, Math.floor((units * i) / k) * align)
    const end = Math.min(n, Math.floor((units * (i + 1)) / k) * align)
    if (end > start) out.push([start, end])
  }
  return out
}

const COPY_TASK = "exec.copy"
/** Below this many elements a copy stays on one thread. */
const MIN_PARALLEL_COPY = 1 << 18

// arrays: source, destination (same dtype); numbers: the element range i0, i1
parallelTasks.set(COPY_TASK, ({ arrays: [src, dst], numbers: [i0, i1] }) => {
  ;(dst as Float32Array).set((src as Float32Array).subarray(i0, i1), i0)
})

/**
 * dst.set(src), split across the threads when both live in shared memory and the copy is
 * large: the arena's copies at a run's boundary (feeds in, fetched values out) are
 * memory-bound, and two cores move more bytes per second than one.
 */
export function copyArray(src: DataArray, dst: DataArray): void {
  const n = src.length
  if (threadCount() > 1 && n >= MIN_PARALLEL_COPY) {
    runTask(COPY_TASK, splitRange(n, threadCount(), 1024).map(([i0, i1]) => ({ arrays: [src, dst], numbers: [i0, i1] })))
    return
  }
  ;(dst as Float32Array).set(src as Float32Array)
}
