/**
 * The worker side of the thread pool: loads every kernel module (so every parallel task is
 * registered), then runs the tasks the main thread posts, on shared memory, and signals
 * completion through the shared control word.
 */
import { parentPort, workerData } from "node:worker_threads"
import "../index.ts"
import { taskFunction, type TaskArgs } from "../kernels/parallel.ts"
import type { DataArray } from "../tensor/dtype.ts"
import type { SharedArrayRef, WorkerJob } from "./threads.ts"

const control = new Int32Array(workerData.control as SharedArrayBuffer)
const errorText = new Uint8Array(workerData.errorText as SharedArrayBuffer)

function view(r: SharedArrayRef): DataArray {
  if (r.dtype === "float32") return new Float32Array(r.buffer, r.byteOffset, r.length)
  if (r.dtype === "float64") return new Float64Array(r.buffer, r.byteOffset, r.length)
  return new Int32Array(r.buffer, r.byteOffset, r.length)
}

parentPort!.on("message", (job: WorkerJob) => {
  try {
    const args: TaskArgs = { arrays: job.arrays.map(view), numbers: job.numbers }
    taskFunction(job.task)(args)
  } catch (e) {
    const bytes = new TextEncoder().encode(e instanceof Error ? e.message : String(e))
    errorText.set(bytes.subarray(0, errorText.length - 1))
    Atomics.store(control, 1, 1)
  }
  Atomics.add(control, 0, 1)
  Atomics.notify(control, 0)
})
parentPort!.postMessage("ready")
