/**
 * A worker_threads backend for the core's fork-join interface (src/exec/parallel.ts).
 * The main thread posts one part of a task to each worker's message port, bumps that
 * worker's job counter (Atomics.notify), runs part 0 itself, then waits until every worker
 * has signalled: kernels stay synchronous. Buffers are SharedArrayBuffer-backed, so nothing
 * is copied.
 *
 * Workers take jobs in a loop blocked on their counter, not through their event loop: a
 * no-op task round trip on this project's 2-core VM went from 69 to 41 us back to back, and
 * from 69 to 22 us after a 0.2 ms idle gap (`npx tsx bench/fork-join.ts`); a W1 training
 * step posts about a dozen tasks.
 *
 * @example
 * const pool = await startThreadPool(2)   // 2 threads: the main thread and one worker
 * ... train ...
 * await pool.close()
 */
import { kernelBackend, type KernelBackendName } from "../kernels/backend.ts"
import { arenaOf, arenaShare, type Arena } from "../kernels/wasm/module.ts"
import type { ArenaAdoption } from "./arena-adoption.ts"
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads"
import { runSerially, setParallelBackend, taskFunction, type ParallelBackend, type TaskArgs } from "../exec/parallel.ts"
import type { DataArray } from "../tensor/dtype.ts"
import { installKernelTask } from "../exec/offload.ts"
import { builtinRegistry } from "../ops/builtins.ts"

export interface SharedArrayRef {
  readonly buffer: SharedArrayBuffer
  readonly dtype: "float32" | "float64" | "int32"
  readonly byteOffset: number
  readonly length: number
  /** The shared WASM arena the array lives in (the worker views it on its adopted memory). */
  readonly arena?: number
}

export interface WorkerJob {
  readonly task: string
  readonly arrays: readonly SharedArrayRef[]
  readonly numbers: readonly number[]
  readonly text?: string
  /** The main thread's kernel backend: a worker computes as the main thread would. */
  readonly backend: KernelBackendName
}

/** Indices into the shared control words. */
export const CONTROL = {
  /** Parts finished in the current task (workers add 1 each). */
  done: 0,
  /** 1 when a worker's part threw (the message is in the error text buffer). */
  error: 1,
  /** Worker i waits on word firstJobCounter + i, which the main thread bumps per job. */
  firstJobCounter: 2,
} as const

/**
 * Loads of a control word before a futex wait, on either side (about 0.1-0.2 ms). With the
 * WASM kernels a LeNet-5 step's parallel parts are 0.3-0.8 ms long and come less than this
 * apart, so the worker stays awake through a step instead of paying a futex wake-up per
 * task: W1 on 2 threads took 6.7-6.9 ms against 8.2-10.1 ms with 20,000 loads, in
 * alternating runs of `npm run bench -- --only W1,W4 --system dagrad --threads 2`. Like an
 * OpenMP runtime's spin-wait, it costs at most that much CPU after the last task.
 */
export const SPIN_CHECKS = 200_000

/** A worker-thread {@link ParallelBackend} started by {@link startThreadPool}; installed as the backend when it has more than one thread. */
export interface ThreadPool extends ParallelBackend {
  /** Uninstalls the backend, stops and terminates the workers; resolves when they have exited. */
  close(): Promise<void>
}

/**
 * The worker's entry: from the sources (tsx, vitest) a plain .mjs that registers tsx's loader
 * before loading thread-worker.ts; from the built package (dist/, plain node) the compiled
 * thread-worker.js itself, so an installed dagrad needs no TypeScript loader.
 */
const WORKER_SCRIPT = new URL(import.meta.url.endsWith(".ts") ? "./thread-worker-boot.mjs" : "./thread-worker.js", import.meta.url)

function refOf(a: DataArray): SharedArrayRef {
  const dtype = a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : "int32"
  const arena = sharedArenaOf(a)
  return { buffer: a.buffer as SharedArrayBuffer, dtype, byteOffset: a.byteOffset, length: a.length, arena: arena?.id }
}

function sharedArenaOf(a: DataArray): Arena | undefined {
  const arena = arenaOf(a)
  return arena !== undefined && arena.memory.buffer instanceof SharedArrayBuffer ? arena : undefined
}

/**
 * Starts `threads - 1` workers (the calling thread is the first thread) and installs the
 * pool as the kernels' parallel backend. `threads = 1` installs nothing.
 */
export async function startThreadPool(threads: number): Promise<ThreadPool> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads = ${threads} (expected an integer >= 1)`)
  const control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.firstJobCounter + threads)))
  const errorText = new Uint8Array(new SharedArrayBuffer(1024))
  const ports: MessagePort[] = []
  const workers = Array.from({ length: threads - 1 }, (_, index) => {
    const { port1, port2 } = new MessageChannel()
    ports.push(port1)
    return new Worker(WORKER_SCRIPT, {
      workerData: { control: control.buffer, errorText: errorText.buffer, port: port2, index },
      transferList: [port2],
    })
  })
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once("message", () => resolve())
          w.once("error", reject)
        }),
    ),
  )
  for (const w of workers) w.unref()
  for (const p of ports) p.unref()
  /** Which workers have adopted each shared arena (weakly held: plans and their arenas come and go). */
  const adoptedBy = new WeakMap<Arena, Set<number>>()
  const post = (i: number, job: WorkerJob | "stop", arrays: readonly DataArray[] = []): void => {
    for (const a of arrays) {
      const arena = sharedArenaOf(a)
      if (arena === undefined) continue
      const seen = adoptedBy.get(arena) ?? new Set<number>()
      adoptedBy.set(arena, seen)
      if (seen.has(i)) continue
      seen.add(i)
      // worker i runs in slot i + 1 (slot 0 is this thread's)
      const { memory, layout } = arenaShare(arena)
      ports[i].postMessage({ adopt: { memory, layout, slot: i + 1 } } satisfies ArenaAdoption)
    }
    ports[i].postMessage(job)
    Atomics.add(control, CONTROL.firstJobCounter + i, 1)
    Atomics.notify(control, CONTROL.firstJobCounter + i)
  }

  const job = (task: string, p: TaskArgs): WorkerJob => ({ task, arrays: p.arrays.map(refOf), numbers: p.numbers, text: p.text, backend: kernelBackend() })
  const start = (): void => {
    Atomics.store(control, CONTROL.done, 0)
    Atomics.store(control, CONTROL.error, 0)
  }
  /** Runs f, returning what it threw (undefined if nothing): the workers must be waited for first. */
  const attempt = (f: () => void): unknown => {
    try {
      f()
      return undefined
    } catch (e) {
      return e ?? new Error("a task threw undefined")
    }
  }
  /** Waits until `remote` workers signalled, then throws this thread's error or a worker's. */
  const finish = (task: string, remote: number, localError: unknown): void => {
    // a short spin first: the parts are sized to finish together
    for (let i = 0; i < SPIN_CHECKS && Atomics.load(control, CONTROL.done) < remote; i++);
    const started = Date.now()
    for (let done = Atomics.load(control, CONTROL.done); done < remote; done = Atomics.load(control, CONTROL.done)) {
      // a worker that died never signals: fail loudly instead of hanging
      if (Date.now() - started > 120_000) throw new Error(`worker task '${task}' did not finish within 120 s`)
      Atomics.wait(control, CONTROL.done, done, 1000)
    }
    if (localError !== undefined) throw localError
    if (Atomics.load(control, CONTROL.error) !== 0) {
      const end = errorText.indexOf(0)
      throw new Error(`worker task '${task}' failed: ${new TextDecoder().decode(errorText.slice(0, end < 0 ? undefined : end))}`)
    }
  }

  // Every worker loads the built-in ops (thread-worker.ts); this thread may run their tasks too.
  installKernelTask(builtinRegistry)
  const pool: ThreadPool = {
    threads,
    registry: builtinRegistry,
    allocShared(dtype, size) {
      const bytes = dtype === "float64" ? 8 : 4
      const buffer = new SharedArrayBuffer(Math.max(1, size) * bytes)
      if (dtype === "float32") return new Float32Array(buffer, 0, size)
      if (dtype === "float64") return new Float64Array(buffer, 0, size)
      return new Int32Array(buffer, 0, size)
    },
    isShared(a) {
      return a.buffer instanceof SharedArrayBuffer
    },
    run(task: string, parts: readonly TaskArgs[]) {
      const remote = parts.slice(1)
      if (remote.length > workers.length) throw new Error(`${parts.length} parts for ${threads} threads`)
      start()
      remote.forEach((p, i) => post(i, job(task, p), p.arrays))
      finish(task, remote.length, attempt(() => taskFunction(task)(parts[0])))
    },
    runBeside(task: string, part: TaskArgs, local: () => void) {
      if (workers.length === 0) throw new Error("runBeside needs a worker (threads >= 2)")
      start()
      post(0, job(task, part), part.arrays)
      finish(task, 1, attempt(() => runSerially(local)))
    },
    async close() {
      setParallelBackend(undefined)
      workers.forEach((_, i) => post(i, "stop"))
      await Promise.all(workers.map((w) => w.terminate()))
      for (const p of ports) p.close()
    },
  }
  if (threads > 1) setParallelBackend(pool)
  return pool
}
