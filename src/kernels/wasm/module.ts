/**
 * The WASM kernel module and the arenas it runs in.
 *
 * The module's bytes are assembled at start-up by ./emit.ts from the kernel families'
 * function lists (./gemm-module.ts, ...), compiled once, and instantiated once per
 * {@link Arena}: one `WebAssembly.Memory` of fixed size (its initial size is its maximum:
 * growing a memory detaches every typed array on it and slows all typed-array access in
 * the process), whose first bytes are the kernels' scratch (packed GEMM panels) and the
 * rest the tensors' data. Kernels work in place on tensors that live in an arena: a
 * Float32Array whose buffer is the arena's.
 */
import { assembleModule, type FunctionSpec } from "./emit.ts"
import { convFunctions } from "./conv-module.ts"
import { gemmFunctions } from "./gemm-module.ts"
import { reduceFunctions } from "./reduce-module.ts"
import { poolFunctions } from "./pool-module.ts"

/** Bytes of a WebAssembly page. */
export const PAGE_BYTES = 65536
/** The most pages a module declares it may import (4 GiB: the wasm32 limit). */
const MAX_PAGES = 65536

/** GEMM blocking (see ./gemm.ts): rows of A, depth, and columns of B packed at once. */
export const GEMM_MC = 64
export const GEMM_KC = 256
export const GEMM_NC = 512

/** Byte layout of an arena's scratch: the edge tile, then packed A, then packed B. */
export const SCRATCH = {
  tile: 0,
  packedA: 128,
  packedB: 128 + GEMM_MC * GEMM_KC * 4,
  bytes: 128 + GEMM_MC * GEMM_KC * 4 + GEMM_NC * GEMM_KC * 4,
} as const

/** The module's exports, as the JS side calls them (byte addresses, element strides). */
export interface KernelExports {
  packA(src: number, lda: number, trans: number, mc: number, kc: number, dst: number): void
  packB(src: number, ldb: number, trans: number, kc: number, nc: number, dst: number): void
  packBGather(base: number, rowOff: number, colOff: number, kc: number, nc: number, dst: number): void
  macro(pa: number, pb: number, mc: number, nc: number, kc: number, c: number, ldc: number, alpha: number, beta: number, overwrite: number, tile: number): void
  /** `macro` with f32x4.relaxed_madd (present only in arenas made with relaxed SIMD on). */
  macroRelaxed?: KernelExports["macro"]
  fillRows(y: number, rows: number, len: number, values: number): void
  relu(y: number, n: number): void
  scatterAdd(dst: number, rowOff: number, colOff: number, rows: number, cols: number, src: number): void
  sumRuns(x: number, outer: number, kept: number, inner: number, out: number): void
  weightGradRows(gy: number, ldgy: number, nC: number, x: number, tapOff: number, nT: number, rows: number, rowOff: number, ow: number, out: number, ldgw: number, accumulate: number): void
  maxPool2x2(x: number, y: number, planes: number, H: number, W: number, OH: number, OW: number): void
  maxPool2x2Indices(x: number, y: number, indices: number, planes: number, H: number, W: number, OH: number, OW: number): void
  /** -1, or the output position of the first index outside [-1, inPlane). `mask` 0: none. */
  scatterAddPlanes(gy: number, indices: number, gx: number, planes: number, outPlane: number, inPlane: number, clear: number, mask: number): number
}

/** The functions of the module, in order (with the relaxed-SIMD macro-kernel when `relaxed`). */
function kernelFunctions(relaxed: boolean): FunctionSpec[] {
  return [...gemmFunctions(relaxed), ...convFunctions(), ...poolFunctions(), ...reduceFunctions()]
}

const compiled = new Map<string, WebAssembly.Module>()
let unavailable: string | undefined

/** The module's bytes for a plain or a shared memory import. */
export function kernelModuleBytes(shared: boolean, relaxed = false): Uint8Array<ArrayBuffer> {
  return assembleModule({ shared, maximumPages: MAX_PAGES }, kernelFunctions(relaxed))
}

/**
 * Whether new arenas get the relaxed-SIMD GEMM (`f32x4.relaxed_madd`): off unless asked for
 * with {@link setRelaxedSimd} or DAGRAD_RELAXED_SIMD=1, because whether it fuses the
 * multiply and the add is up to the CPU, so results are not bit-reproducible across
 * machines (Node 20 also needs --experimental-wasm-relaxed-simd).
 */
let relaxedSimd = (globalThis as { process?: { env?: { [k: string]: string | undefined } } }).process?.env?.DAGRAD_RELAXED_SIMD === "1"

/**
 * Opts in to (or out of) relaxed SIMD for arenas created from now on; returns false, and
 * changes nothing, when this runtime cannot compile it.
 *
 * @example
 * if (!setRelaxedSimd(true)) console.log("no relaxed SIMD here: node --experimental-wasm-relaxed-simd")
 */
export function setRelaxedSimd(on: boolean): boolean {
  if (on && compiledModule(false, true) === undefined) return false
  relaxedSimd = on
  return true
}

/** True when new arenas use the relaxed-SIMD GEMM (see {@link setRelaxedSimd}). */
export function relaxedSimdEnabled(): boolean {
  return relaxedSimd
}

function compiledModule(shared: boolean, relaxed = false): WebAssembly.Module | undefined {
  const key = `${shared}:${relaxed}`
  const have = compiled.get(key)
  if (have !== undefined) return have
  if (unavailable !== undefined) return undefined
  try {
    const m = new WebAssembly.Module(kernelModuleBytes(shared, relaxed))
    compiled.set(key, m)
    return m
  } catch (e) {
    // relaxed SIMD is optional: its failure leaves the plain module usable
    if (relaxed) return undefined
    // No SIMD (validation fails), no shared memory, or a main thread that refuses
    // synchronous compiles of this size: the JS kernels run instead.
    unavailable = e instanceof Error ? e.message : String(e)
    return undefined
  }
}

/**
 * True when this runtime can run the WASM kernels (feature detection: the module
 * validates and compiles). {@link wasmUnavailableReason} says why not.
 */
export function wasmAvailable(): boolean {
  return typeof WebAssembly === "object" && compiledModule(false) !== undefined
}

/** Why {@link wasmAvailable} is false (undefined while it is true or untested). */
export function wasmUnavailableReason(): string | undefined {
  return typeof WebAssembly !== "object" ? "no WebAssembly in this runtime" : unavailable
}

/**
 * Compiles the module off the main thread's synchronous path (browsers refuse synchronous
 * compiles of modules over 4 KiB on the main thread): await this once before running
 * there; elsewhere the module compiles on first use.
 */
export async function compileKernelsAsync(): Promise<boolean> {
  if (compiled.has("false:false")) return true
  try {
    compiled.set("false:false", await WebAssembly.compile(kernelModuleBytes(false)))
    unavailable = undefined
    return true
  } catch (e) {
    unavailable = e instanceof Error ? e.message : String(e)
    return false
  }
}

/**
 * One memory and the kernel module instantiated on it, as one thread sees it. Threads that
 * share a memory (`shared: true`) each have their own Arena object on it, with their own
 * slot: the GEMM's packed panels (`scratch`) and a share of the workspace after the data
 * ({@link workspaceOf}) are per thread, so kernels on several threads never write the same
 * scratch bytes.
 */
export interface Arena {
  /** Names the memory across threads (see {@link arenaShare}). */
  readonly id: number
  readonly memory: WebAssembly.Memory
  readonly kernels: KernelExports
  /** Byte address where tensor data may start (after every slot's scratch). */
  readonly dataStart: number
  /** Bytes that may hold data and workspace (the memory's size less {@link READ_SLACK}). */
  readonly bytes: number
  /** Next free byte for {@link arenaAlloc}: data is carved before threads use the arena. */
  next: number
  /** How many threads' slots the arena has, and which one this thread uses. */
  readonly slots: number
  readonly slot: number
  /** Byte address of this thread's scratch (SCRATCH's layout). */
  readonly scratch: number
}

const arenas = new WeakMap<ArrayBufferLike, Arena>()
/**
 * Bytes at the end of every arena that nothing is carved from: a kernel may read up to a
 * vector past a buffer's end (values it masks off), which must stay inside the memory.
 */
const READ_SLACK = 16
let nextArenaId = 1

/**
 * A new arena with room for `dataBytes` of tensors (and workspace) after the scratch, or
 * undefined when the WASM kernels are unavailable. `shared` makes its memory a
 * SharedArrayBuffer that worker threads can instantiate the module on; `slots` is how
 * many threads may run kernels on it at once (this thread takes slot 0).
 */
export function createArena(dataBytes: number, shared = false, slots = 1): Arena | undefined {
  const module = (relaxedSimd ? compiledModule(shared, true) : undefined) ?? compiledModule(shared)
  if (module === undefined) return undefined
  const dataStart = slots * SCRATCH.bytes
  const bytes = dataStart + Math.ceil(dataBytes / 16) * 16 + READ_SLACK
  const pages = Math.ceil(bytes / PAGE_BYTES)
  if (pages > MAX_PAGES) return undefined
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared } as WebAssembly.MemoryDescriptor)
  return instantiate(module, memory, { id: nextArenaId++, dataStart, bytes: pages * PAGE_BYTES - READ_SLACK, next: dataStart, slots, slot: 0 })
}

function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory, layout: ArenaLayout & { readonly slot: number }): Arena {
  const instance = new WebAssembly.Instance(module, { env: { memory } })
  const arena: Arena = { ...layout, memory, kernels: instance.exports as unknown as KernelExports, scratch: layout.slot * SCRATCH.bytes }
  arenas.set(memory.buffer, arena)
  return arena
}

/** What another thread needs to run kernels on a shared arena (posted to it once). */
export interface ArenaLayout {
  readonly id: number
  readonly dataStart: number
  readonly bytes: number
  readonly next: number
  readonly slots: number
}

/** A shared arena's memory and layout, for {@link adoptArena} on another thread. */
export function arenaShare(arena: Arena): { readonly memory: WebAssembly.Memory; readonly layout: ArenaLayout } {
  return { memory: arena.memory, layout: { id: arena.id, dataStart: arena.dataStart, bytes: arena.bytes, next: arena.next, slots: arena.slots } }
}

const adopted = new Map<number, Arena>()

/**
 * On a worker thread: instantiates the module on a shared arena's memory, taking `slot`
 * (its own scratch and workspace), so kernel parts sent here run in place. Undefined
 * when the module does not compile here or the arena has no such slot.
 */
export function adoptArena(memory: WebAssembly.Memory, layout: ArenaLayout, slot: number): Arena | undefined {
  if (slot >= layout.slots) return undefined
  const module = (relaxedSimd ? compiledModule(true, true) : undefined) ?? compiledModule(true)
  if (module === undefined) return undefined
  const arena = instantiate(module, memory, { ...layout, slot })
  adopted.set(layout.id, arena)
  return arena
}

/** The arena this thread adopted under `id` (see {@link adoptArena}). */
export function adoptedArena(id: number): Arena | undefined {
  return adopted.get(id)
}

/** This thread's share of the arena's free tail (after the carved data), as byte addresses. */
export function workspaceOf(arena: Arena): { readonly start: number; readonly end: number } {
  const part = Math.floor((arena.bytes - arena.next) / arena.slots / 16) * 16
  const start = arena.next + arena.slot * part
  return { start, end: start + part }
}

/** The arena `a` lives in, if any. */
export function arenaOf(a: ArrayBufferView): Arena | undefined {
  return arenas.get(a.buffer)
}

/** The byte address of `size` 4-byte elements carved from the arena (16-byte aligned), or undefined when it is full. */
function carve(arena: Arena, size: number): number | undefined {
  const start = arena.next
  const end = start + Math.ceil((size * 4) / 16) * 16
  if (end > arena.bytes) return undefined
  arena.next = end
  return start
}

/** `size` float32 zeros carved from the arena (16-byte aligned), or undefined when it is full. */
export function arenaAlloc(arena: Arena, size: number): Float32Array | undefined {
  const at = carve(arena, size)
  return at === undefined ? undefined : new Float32Array(arena.memory.buffer, at, size)
}

/** `size` int32 zeros carved from the arena (16-byte aligned; max pooling's argmax), or undefined when it is full. */
export function arenaAllocInt32(arena: Arena, size: number): Int32Array | undefined {
  const at = carve(arena, size)
  return at === undefined ? undefined : new Int32Array(arena.memory.buffer, at, size)
}

let staging: Arena | undefined

/**
 * The arena operands that live outside any arena are copied into for one kernel call,
 * with room for at least `bytes` (replaced by a larger one, never grown, when too small).
 */
export function stagingArena(bytes: number): Arena | undefined {
  if (staging === undefined || staging.bytes - staging.dataStart < bytes) {
    staging = createArena(Math.max(bytes, 16 << 20))
  }
  return staging
}

/** What kernels take from or give to an arena: float32 data, or int32 indices (4-byte elements too). */
export type ArenaArray = Float32Array | Int32Array

/** A view of the same type and length as `a` at byte `at` of `buffer`. */
function viewLike(a: ArenaArray, buffer: ArrayBufferLike, at: number): ArenaArray {
  return a instanceof Int32Array ? new Int32Array(buffer, at, a.length) : new Float32Array(buffer, at, a.length)
}

/**
 * Runs `body` with every array in one arena and `workBytes` of workspace after the
 * arena's data: in place when they already share an arena with that much room left,
 * else in the staging arena, copying `inputs` in and `outputs` in and back out (not in
 * when `overwrites`: `body` writes every element of every output). `body` gets the arena,
 * each array's byte address (inputs then outputs) and the workspace's. `written`, when
 * given, lists the element ranges of the outputs the body writes: only those are copied
 * back (a part of a split kernel must not write back the parts other threads compute at
 * the same time). False when no arena can hold them (the caller runs the JS kernel).
 */
export function runInArena(
  inputs: readonly ArenaArray[],
  outputs: readonly ArenaArray[],
  workBytes: number,
  body: (arena: Arena, addresses: number[], work: number) => void,
  overwrites = false,
  written?: readonly (readonly [number, number])[],
): boolean {
  const all = [...inputs, ...outputs]
  const home = arenaOf(all[0])
  const work = home === undefined ? undefined : workspaceOf(home)
  if (home !== undefined && work !== undefined && all.every((a) => arenaOf(a) === home) && work.end - work.start >= workBytes) {
    body(home, all.map((a) => a.byteOffset), work.start)
    return true
  }
  const padded = (a: ArenaArray): number => Math.ceil(a.length / 4) * 16
  const s = stagingArena(all.reduce((t, a) => t + padded(a), 0) + workBytes)
  if (s === undefined) return false
  const addresses: number[] = []
  let at = s.dataStart
  for (const [k, a] of all.entries()) {
    if (k < inputs.length || !overwrites) viewLike(a, s.memory.buffer, at).set(a)
    addresses.push(at)
    at += padded(a)
  }
  body(s, addresses, at)
  outputs.forEach((o, i) => {
    const staged = viewLike(o, s.memory.buffer, addresses[inputs.length + i])
    // only what the body wrote: another thread may be writing the rest of o meanwhile
    if (written === undefined) o.set(staged)
    else for (const [from, to] of written) o.set(staged.subarray(from, to), from)
  })
  return true
}
