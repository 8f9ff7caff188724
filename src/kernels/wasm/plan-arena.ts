/**
 * The WASM arena as the executor's {@link ArenaProvider} (exec/arena.ts): a plan's float32
 * and int32 buffers carved from one arena of ./module.ts, so the WASM kernels find every
 * operand in one memory and run in place instead of copying into the staging arena.
 * kernels/backend.ts installs it, with its own switch as `enabled`.
 */
import type { ArenaProvider, BufferArena } from "../../exec/arena.ts"
import { parallelBackend } from "../../exec/parallel.ts"
import { arenaAlloc, arenaAllocInt32, arenaOf, createArena } from "./module.ts"

/**
 * The provider: arenas of ./module.ts, with `enabled` deciding when plans use one (the
 * backend's "WASM kernels on" test).
 *
 * @example
 * setArenaProvider(wasmArenaProvider(useWasmKernels))
 */
export function wasmArenaProvider(enabled: () => boolean): ArenaProvider {
  return {
    enabled,
    create(dataBytes: number, workspaceBytes: number, shared: boolean): BufferArena | undefined {
      // a shared arena gives each thread of the pool its own scratch and workspace share
      const slots = shared ? Math.max(1, parallelBackend()?.threads ?? 1) : 1
      const arena = createArena(dataBytes + workspaceBytes * slots, shared, slots)
      if (arena === undefined) return undefined
      return {
        bytes: arena.bytes,
        shared,
        allocate: (dtype, size) => (dtype === "float32" ? arenaAlloc(arena, size) : arenaAllocInt32(arena, size)),
        holds: (a) => arenaOf(a) === arena,
      }
    },
  }
}
