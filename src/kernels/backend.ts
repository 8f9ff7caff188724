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
import { setArenaProvider } from "../exec/arena.ts"
import * as wasm from "./wasm/module.ts"
import { wasmArenaProvider } from "./wasm/plan-arena.ts"

// The public face of ./wasm/module.ts: wrappers rather than re-exports, so the package's
// declaration files never mention WebAssembly types (a consumer compiled without the DOM
// or Node typings has no WebAssembly namespace).

/** True when this runtime runs the WASM SIMD kernels (the module validated and compiled here). */
export function wasmAvailable(): boolean {
  return wasm.wasmAvailable()
}

/** Why {@link wasmAvailable} is false (undefined while it is true). */
export function wasmUnavailableReason(): string | undefined {
  return wasm.wasmUnavailableReason()
}

/**
 * Compiles the kernel module asynchronously; resolves to {@link wasmAvailable}. A browser
 * page's main thread may refuse to compile a module over 4 KiB synchronously: await this
 * once at start-up there. Elsewhere (Node, workers) the module compiles on first use.
 *
 * @example
 * await compileKernelsAsync() // then build and run graphs as usual
 */
export function compileKernelsAsync(): Promise<boolean> {
  return wasm.compileKernelsAsync()
}

/**
 * Opts in to relaxed SIMD (`f32x4.relaxed_madd`) for the GEMM of arenas created from now on;
 * false, changing nothing, where the runtime lacks it (Node 20 needs
 * --experimental-wasm-relaxed-simd). Faster, but whether multiply and add fuse depends on
 * the CPU, so results are not bit-reproducible across machines; off by default, and
 * DAGRAD_RELAXED_SIMD=1 turns it on at start-up.
 */
export function setRelaxedSimd(on: boolean): boolean {
  return wasm.setRelaxedSimd(on)
}

/** True when relaxed SIMD is on (see {@link setRelaxedSimd}). */
export function relaxedSimdEnabled(): boolean {
  return wasm.relaxedSimdEnabled()
}

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

// While float32 work runs on WASM, plans keep their buffers in one WASM arena (exec/arena.ts).
setArenaProvider(wasmArenaProvider(useWasmKernels))
