/**
 * A worker_threads backend for the core's fork-join interface (src/kernels/parallel.ts).
 * The main thread posts one part of a task to each worker, runs part 0 itself, then blocks
 * in Atomics.wait until every worker has signalled — kernels stay synchronous. Buffers are
 * SharedArrayBuffer-backed, so nothing is copied.
 *
 * @example
 * const pool = await startThreadPool(2)   // 2 threads: the main thread and one worker
 * ... train ...
 * await pool.close()
 */
import { Worker } from "node:worker_threads"
import { setParallelBackend, taskFunction, type ParallelBackend, type TaskArgs } from "../kernels/parallel.ts"
import type { DataArray } from "../tensor/dtype.ts"

export interface SharedArrayRef {
  readonly buffer: SharedArrayBuffer
  readonly dtype: "float32" | "float64" | "int32"
  readonly byteOffset: number
  readonly length: number
}

export interface WorkerJob {
  readonly task: string
  readonly arrays: readonly SharedArrayRef[]
  readonly numbers: readonly number[]
}

export interface ThreadPool extends ParallelBackend {
  close(): Promise<void>
}

function refOf(a: DataArray): SharedArrayRef {
  const dtype = a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : "int32"
  return { buffer: a.buffer as SharedArrayBuffer, dtype, byteOffset: a.byteOffset, length: a.length }
}

/**
 * Starts `threads - 1` workers (the calling thread is the first thread) and installs the
 * pool as the kernels' parallel backend. `threads = 1` installs nothing.
 */
export async function startThreadPool(threads: number): Promise<ThreadPool> {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads = ${threads} (expected an integer >= 1)`)
  const control = new Int32Array(new SharedArrayBuffer(8))
  const errorText = new Uint8Array(new SharedArrayBuffer(1024))
  const workers = Array.from(
    { length: threads - 1 },
    () => new Worker(new URL("./thread-worker-boot.mjs", import.meta.url), { workerData: { control: control.buffer, errorText: errorText.buffer } }),
  )
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

  const pool: ThreadPool = {
    threads,
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
      Atomics.store(control, 0, 0)
      Atomics.store(control, 1, 0)
      remote.forEach((p, i) => workers[i].postMessage({ task, arrays: p.arrays.map(refOf), numbers: p.numbers } satisfies WorkerJob))
      let localError: unknown
      try {
        taskFunction(task)(parts[0])
      } catch (e) {
        localError = e
      }
      const started = Date.now()
      for (let done = Atomics.load(control, 0); done < remote.length; done = Atomics.load(control, 0)) {
        // a worker that died never signals: fail loudly instead of hanging
        if (Date.now() - started > 120_000) throw new Error(`worker task '${task}' did not finish within 120 s`)
        Atomics.wait(control, 0, done, 1000)
      }
      if (localError !== undefined) throw localError
      if (Atomics.load(control, 1) !== 0) {
        const end = errorText.indexOf(0)
        throw new Error(`worker task '${task}' failed: ${new TextDecoder().decode(errorText.slice(0, end < 0 ? undefined : end))}`)
      }
    },
    async close() {
      setParallelBackend(undefined)
      await Promise.all(workers.map((w) => w.terminate()))
    },
  }
  if (threads > 1) setParallelBackend(pool)
  return pool
}
