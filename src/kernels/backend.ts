/**
 * Which kernels run float32 work: "wasm" (WebAssembly SIMD, ./wasm/) or "js" (the plain
 * JavaScript kernels, always available, and the reference the WASM ones are tested
 * against). float64 always runs on the JavaScript kernels (exact float64 accumulation for
 * gradient checks).
 *
 * The default is "wasm" where the module validates at start-up (feature detection: a
 * runtime without SIMD fails validation), else "js". `DAGRAD_BACKEND=js|wasm` in the
 * environment (read from `globalThis.process`, so the core imports no Node module) or
 * {@link setKernelBackend} forces one.
 */
import { DagradError } from "../errors.ts"
import { wasmAvailable, wasmUnavailableReason } from "./wasm/module.ts"

/** The kernel backends for float32 work. */
export type KernelBackendName = "js" | "wasm"

function checked(name: string, source: string): KernelBackendName {
  if (name !== "js" && name !== "wasm") throw new DagradError(`${source} to be 'js' or 'wasm' (got '${name}')`)
  if (name === "wasm" && !wasmAvailable()) throw new DagradError(`${source} 'wasm' to name an available backend, but WebAssembly SIMD does not run here: ${wasmUnavailableReason() ?? "unknown reason"}`)
  return name
}

function fromEnvironment(): KernelBackendName | undefined {
  const env = (globalThis as { process?: { env?: { [k: string]: string | undefined } } }).process?.env
  const v = env?.DAGRAD_BACKEND
  return v === undefined || v === "" ? undefined : checked(v, "DAGRAD_BACKEND")
}

/** The backend DAGRAD_BACKEND names, read once at start-up. */
const fromEnv: KernelBackendName | undefined = fromEnvironment()
let forced: KernelBackendName | undefined

/**
 * Forces the kernel backend for float32 work (`undefined`: back to DAGRAD_BACKEND's choice,
 * or the default). Results differ between backends by float32 rounding only (WASM sums in
 * float32, the JS kernels in float64); each is deterministic on its own, for any number
 * of threads. Throws a DagradError for "wasm" where WebAssembly SIMD does not run.
 *
 * @example
 * setKernelBackend("js") // the scalar JavaScript kernels, e.g. to compare
 */
export function setKernelBackend(name: KernelBackendName | undefined): void {
  forced = name === undefined ? undefined : checked(name, "setKernelBackend's argument")
}

/** The backend float32 kernels use now (see {@link setKernelBackend}). */
export function kernelBackend(): KernelBackendName {
  return forced ?? fromEnv ?? (wasmAvailable() ? "wasm" : "js")
}

/** True when float32 kernels run on WASM now. */
export function useWasmKernels(): boolean {
  return (forced ?? fromEnv) !== "js" && wasmAvailable()
}
