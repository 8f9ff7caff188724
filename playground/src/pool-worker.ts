/**
 * A helper of the browser worker pool (pool.ts): loads the engine (which registers every
 * kernel's parallel tasks), takes the shared control words, then runs each job it is sent.
 */
import { builtinRegistry, installKernelTask } from "./engine.ts"
import { runJob, type PoolJob, type PoolSetup } from "./pool.ts"

let control: Int32Array | undefined
let errorText: Uint8Array | undefined

self.onmessage = (e: MessageEvent<PoolSetup | PoolJob>) => {
  if (control === undefined) {
    const setup = e.data as PoolSetup
    control = new Int32Array(setup.control)
    errorText = new Uint8Array(setup.errorText)
    installKernelTask(builtinRegistry)
    self.postMessage("ready")
    return
  }
  runJob(e.data as PoolJob, control, errorText!)
}
