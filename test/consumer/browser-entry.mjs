// The browser bundle's entry: exposes the LeNet-5 steps to the page.
// A page's main thread may not compile a large WebAssembly module synchronously: compile the
// kernels asynchronously first (what a browser application does once at start-up).
import { compileKernelsAsync } from "dagrad"
import { lenetSteps } from "./lenet-step.mjs"

globalThis.dagradLenetSteps = async (options) => {
  await compileKernelsAsync()
  return lenetSteps(options)
}
