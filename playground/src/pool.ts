/**
 * A pool of Web Workers over SharedArrayBuffer for the kernels' fork-join interface
 * (src/exec/parallel.ts), the browser twin of dagrad/node's thread pool. It needs a
 * cross-origin isolated page (COOP/COEP headers: the Vite servers and the e2e server send
 * them). The training worker runs part 0 of each task itself and blocks in Atomics.wait
 * (allowed in a worker, not on the page's main thread) until the helpers signal through a
 * shared counter. Helpers receive their part as an ordinary message: the browser has no
 * synchronous receive, so each part costs a message hop where Node's pool spins on a
 * futex, but the typed arrays in it are views of shared memory, never copies.
 *
 * Kernels split work so that every output element is computed by exactly one part, in an
 * order that does not depend on the split: results are the same bits as one thread.
 */
import { builtinRegistry, installKernelTask, runSerially, setParallelBackend, taskFunction, type ParallelBackend, type TaskArgs } from "./engine.ts"

/** Control words: parts finished in the current task, and an error flag. */
const DONE = 0
const ERROR = 1

/** A job as posted to a helper worker. */
export interface PoolJob {
  readonly task: string
  readonly arrays: TaskArgs["arrays"]
  readonly numbers: readonly number[]
  readonly text?: string
}

/** The first message to a helper: the shared control words and error text buffer. */
export interface PoolSetup {
  readonly control: SharedArrayBuffer
  readonly errorText: SharedArrayBuffer
}

/** A started pool; `close` uninstalls it and stops the helpers. */
export interface BrowserPool extends ParallelBackend {
  close(): void
}

/** Where a helper's answer is written: done count, error flag, message. */
export function runJob(job: PoolJob, control: Int32Array, errorText: Uint8Array): void {
  try {
    taskFunction(job.task)({ arrays: job.arrays, numbers: job.numbers, text: job.text })
  } catch (e) {
    const bytes = new TextEncoder().encode(e instanceof Error ? e.message : String(e))
    errorText.fill(0) // an earlier, longer message must not show through
    errorText.set(bytes.subarray(0, errorText.length - 1))
    Atomics.store(control, ERROR, 1)
  }
  Atomics.add(control, DONE, 1)
  Atomics.notify(control, DONE)
}

/**
 * Starts `threads - 1` helper workers (this thread is the first) and installs the pool as
 * the kernels' backend. Returns undefined (nothing installed) when the page is not
 * cross-origin isolated or `threads` < 2.
 */
export async function startBrowserPool(threads: number, makeWorker: () => Worker): Promise<BrowserPool | undefined> {
  if (threads < 2 || typeof SharedArrayBuffer === "undefined" || !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) return undefined
  const setup: PoolSetup = { control: new SharedArrayBuffer(8), errorText: new SharedArrayBuffer(1024) }
  const control = new Int32Array(setup.control)
  const errorText = new Uint8Array(setup.errorText)
  const workers = Array.from({ length: threads - 1 }, makeWorker)
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.onmessage = () => resolve()
          w.onerror = (e) => reject(new Error(`pool worker failed to start: ${e.message}`))
          w.postMessage(setup)
        }),
    ),
  )
  const attempt = (f: () => void): unknown => {
    try {
      f()
      return undefined
    } catch (e) {
      return e ?? new Error("a task threw undefined")
    }
  }
  const start = (): void => {
    Atomics.store(control, DONE, 0)
    Atomics.store(control, ERROR, 0)
  }
  const finish = (task: string, remote: number, localError: unknown): void => {
    const started = performance.now()
    for (let done = Atomics.load(control, DONE); done < remote; done = Atomics.load(control, DONE)) {
      if (performance.now() - started > 60_000) throw new Error(`pool task '${task}' did not finish within 60 s`)
      Atomics.wait(control, DONE, done, 1000)
    }
    if (localError !== undefined) throw localError
    if (Atomics.load(control, ERROR) !== 0) {
      const end = errorText.indexOf(0)
      throw new Error(`pool task '${task}' failed: ${new TextDecoder().decode(errorText.slice(0, end < 0 ? undefined : end))}`)
    }
  }
  const post = (i: number, task: string, p: TaskArgs): void => workers[i].postMessage({ task, arrays: p.arrays, numbers: p.numbers, text: p.text } satisfies PoolJob)
  const pool: BrowserPool = {
    threads,
    // every helper loads the built-in ops (pool-worker.ts), so pairs of their nodes can run side by side
    registry: builtinRegistry,
    allocShared(dtype, size) {
      const bytes = dtype === "float64" ? 8 : 4
      const buffer = new SharedArrayBuffer(Math.max(1, size) * bytes)
      if (dtype === "float32") return new Float32Array(buffer, 0, size)
      if (dtype === "float64") return new Float64Array(buffer, 0, size)
      return new Int32Array(buffer, 0, size)
    },
    isShared: (a) => a.buffer instanceof SharedArrayBuffer,
    run(task, parts) {
      const remote = parts.slice(1)
      if (remote.length > workers.length) throw new Error(`${parts.length} parts for ${threads} threads`)
      start()
      remote.forEach((p, i) => post(i, task, p))
      finish(task, remote.length, attempt(() => taskFunction(task)(parts[0])))
    },
    runBeside(task, part, local) {
      start()
      post(0, task, part)
      finish(task, 1, attempt(() => runSerially(local)))
    },
    close() {
      setParallelBackend(undefined)
      for (const w of workers) w.terminate()
    },
  }
  installKernelTask(builtinRegistry)
  setParallelBackend(pool)
  return pool
}
