/**
 * Which kernels run float32 work: "wasm" (WebAssembly SIMD, ./wasm/) or "js" (the plain
 * JavaScript kernels, always available and the reference for the WASM ones).
 *
 * The default is "wasm" where the engine validates the SIMD module at start-up, else
 * "js". `DAGRAD_BACKEND=js|wasm` in the environment (read from `globalThis.process`, so
 * the core imports no Node module) or {@link setKernelBackend} forces one.
 */
export type KernelBackendName = "js" | "wasm"

let forced: KernelBackendName | undefined = fromEnvironment()

function fromEnvironment(): KernelBackendName | undefined {
  const env = (globalThis as { process?: { env?: { [k: string]: string | undefined } } }).process?.env
  const v = env?.DAGRAD_BACKEND
  if (v === undefined || v === "") return undefined
  if (v === "js" || v === "wasm") return v
  throw new Error(`DAGRAD_BACKEND must be 'js' or 'wasm', got '${v}'`)
}

/**
 * Forces the kernel backend for float32 work (`undefined`: back to the default). Results
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
  return forced ?? "wasm"
}
