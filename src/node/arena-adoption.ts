/**
 * The message that makes a worker adopt a shared WASM arena (threads.ts sends it,
 * thread-worker.ts acts on it). In its own module, out of the package's public declarations:
 * it names WebAssembly types, which a consumer compiled without DOM or WebAssembly typings
 * does not have.
 */
import type { ArenaLayout } from "../kernels/wasm/module.ts"

/**
 * Sent to a worker once per shared arena, before the first job that uses it: the worker
 * instantiates the kernel module on that memory in its own slot (kernels/wasm/module.ts),
 * so kernel parts run in place there instead of copying into a private staging arena.
 */
export interface ArenaAdoption {
  readonly adopt: { readonly memory: WebAssembly.Memory; readonly layout: ArenaLayout; readonly slot: number }
}
