/**
 * Which kernels run float32 work: "wasm" (WebAssembly SIMD, ./wasm/) or "js" (the plain
 * JavaScript kernels, always available and the reference for the WASM ones).
 *
 * The default is "wasm" where the engine validates the SIMD module at start-up, else
 * "js". `DAGRAD_BACKEND=js|wasm` in the environment (read from `globalThis.process`, so
 * the core imports no Node module) or {@link setKernelBackend} forces one.
 */
import { setArenaProvider } from "../exec/arena.ts"
import { wasmAvailable } from "./wasm/module.ts"
import { wasmArenaProvider } from "./wasm/plan-arena.ts"

export type KernelBackendName = "js" | "wasm"

/** The backend DAGRAD_BACKEND names, read once at start-up. */
const fromEnv: KernelBackendName | undefined = fromEnvironment()
let forced: KernelBackendName | undefined

function fromEnvironment(): KernelBackendName | undefined {
  const env = (globalThis as { process?: { env?: { [k: string]: string | undefined } } }).process?.env
  const v = env?.DAGRAD_BACKEND
  if (v === undefined || v === "") return undefined
  if (v === "js" || v === "wasm") return v
  throw new Error(`DAGRAD_BACKEND must be 'js' or 'wasm', got '${v}'`)
}

/**
 * Forces the kernel backend for float32 work (`undefined`: back to DAGRAD_BACKEND's choice, or the default). Results
 * differ between backends only by float32 rounding; each is deterministic on its own.
 *
 * @example
 * setKernelBackend("js") // the scalar JavaScript kernels, e.g. to compare
 */
export function setKernelBackend(name: KernelBackendName | undefined): void {
  forced = name
}

/** The backend float32 kernels use now (see {@link setKernelBackend}). */
export function kernelBackend(): KernelBackendName {
  return forced ?? fromEnv ?? "wasm"
}

/** True when float32 kernels should run on WASM now: the backend is "wasm" and the module validated. */
export function useWasmKernels(): boolean {
  return kernelBackend() === "wasm" && wasmAvailable()
}

// While float32 work runs on WASM, plans keep their buffers in one WASM arena (exec/arena.ts).
setArenaProvider(wasmArenaProvider(useWasmKernels))
