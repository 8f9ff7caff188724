/**
 * The worker side of the thread pool: loads every built-in op (and so every kernel module,
 * each registering its parallel tasks) and can run any of them by name, then loops: wait for the main thread to bump this worker's job counter, take
 * the job from its message port synchronously, run it on shared memory, signal completion
 * through the shared control words. The worker never returns to its event loop between
 * jobs: waking a blocked Atomics.wait is a futex wake, where a message delivered through
 * the event loop costs a libuv wake-up and a task (see threads.ts for the figures).
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads"
import { setKernelBackend } from "../kernels/backend.ts"
import { installKernelTask } from "../exec/offload.ts"
import { builtinRegistry } from "../ops/builtins.ts"
import { taskFunction, type TaskArgs } from "../exec/parallel.ts"
import type { DataArray } from "../tensor/dtype.ts"
import { CONTROL, SPIN_CHECKS, type SharedArrayRef, type WorkerJob } from "./threads.ts"
import type { ArenaAdoption } from "./arena-adoption.ts"
import { adoptArena, adoptedArena } from "../kernels/wasm/module.ts"

const control = new Int32Array(workerData.control as SharedArrayBuffer)
const errorText = new Uint8Array(workerData.errorText as SharedArrayBuffer)
const jobs = workerData.port as MessagePort
const slot = CONTROL.firstJobCounter + (workerData.index as number)

function view(r: SharedArrayRef): DataArray {
  // an array of a shared arena this worker adopted: viewed on the adopted memory, so the
  // kernels find it in their arena (the posted SharedArrayBuffer is another object)
  const buffer = r.arena === undefined ? r.buffer : (adoptedArena(r.arena)?.memory.buffer ?? r.buffer)
  if (r.dtype === "float32") return new Float32Array(buffer, r.byteOffset, r.length)
  if (r.dtype === "float64") return new Float64Array(buffer, r.byteOffset, r.length)
  return new Int32Array(buffer, r.byteOffset, r.length)
}

function run(job: WorkerJob): void {
  try {
    setKernelBackend(job.backend)
    const args: TaskArgs = { arrays: job.arrays.map(view), numbers: job.numbers, text: job.text }
    taskFunction(job.task)(args)
  } catch (e) {
    const bytes = new TextEncoder().encode(e instanceof Error ? e.message : String(e))
    errorText.set(bytes.subarray(0, errorText.length - 1))
    Atomics.store(control, CONTROL.error, 1)
  }
  Atomics.add(control, CONTROL.done, 1)
  Atomics.notify(control, CONTROL.done)
}

/** Waits until the job counter moves past `seen`: a short spin (jobs often come back to back), then a futex wait. */
function nextJob(seen: number): number {
  for (let i = 0; i < SPIN_CHECKS; i++) {
    const now = Atomics.load(control, slot)
    if (now !== seen) return now
  }
  Atomics.wait(control, slot, seen)
  return Atomics.load(control, slot)
}

/** The next message of the job port: posted before the counter moved, so already queued. */
function takeMessage(): WorkerJob | ArenaAdoption | "stop" {
  let message = receiveMessageOnPort(jobs)
  while (message === undefined) message = receiveMessageOnPort(jobs)
  return message.message as WorkerJob | ArenaAdoption | "stop"
}

installKernelTask(builtinRegistry)
parentPort!.postMessage("ready")
let seen = 0
for (;;) {
  const now = nextJob(seen)
  if (now === seen) continue
  seen = now
  let job = takeMessage()
  // arenas to adopt come before the job that first uses them, without a counter bump
  while (typeof job === "object" && "adopt" in job) {
    adoptArena(job.adopt.memory, job.adopt.layout, job.adopt.slot)
    job = takeMessage()
  }
  if (job === "stop") break
  run(job)
}
jobs.close()
