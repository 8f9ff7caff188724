/**
 * A plan's buffers in one fixed-size memory arena, so kernels that want their operands in
 * one memory (the WASM kernels: kernels/wasm/) find them there and run in place.
 *
 * The core only sees {@link ArenaProvider}: the kernel layer installs one (kernels/backend.ts
 * installs the WASM arena's) and says when plans should use it. A plan sizes its arena once
 * by simulating its buffer pool over one run ({@link planArenaLayout}): the plan knows every
 * step's outputs and where each buffer dies, so the pool's high-water mark per buffer size
 * is known before anything runs. The arena is never grown (growing a WebAssembly.Memory
 * detaches every view on it), so the layout must be an upper bound: see planArenaLayout.
 *
 * At the API boundary nothing changes: feeds and parameters are copied into the
 * arena at the start of a run, and the tensors a run returns are copied out of it into
 * ordinary typed arrays (which `Plan.recycle` takes back for the next run's copies).
 */
import type { OutputSpec } from "../graph/types.ts"
import { copyArray, parallelBackend } from "./parallel.ts"
import type { DataArray, DType } from "../tensor/dtype.ts"
import { sizeOf } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** The element types an arena holds: float32 tensors and int32 ones (max pooling's argmax). */
export type ArenaDType = "float32" | "int32"

/** One arena: a fixed-size memory that buffers are carved from, never grown nor freed piecemeal. */
export interface BufferArena {
  /** Total bytes of the arena's memory (data, the kernels' scratch and the workspace). */
  readonly bytes: number
  /** True when its memory is shared with worker threads (a SharedArrayBuffer). */
  readonly shared: boolean
  /** `size` zero elements carved from the arena (16-byte aligned), or undefined when it is full. */
  allocate(dtype: ArenaDType, size: number): DataArray | undefined
  /** True when `a` is a view of this arena's memory. */
  holds(a: DataArray): boolean
}

/** How the kernel layer hands plans an arena. */
export interface ArenaProvider {
  /** True when plans should keep their buffers in an arena now (e.g. the WASM kernels are selected). */
  enabled(): boolean
  /**
   * A new arena with room for `dataBytes` of buffers (each rounded up to 16 bytes) followed
   * by at least `workspaceBytes` the kernels may use as workspace; undefined when one cannot
   * be made (no WebAssembly, out of memory).
   */
  create(dataBytes: number, workspaceBytes: number, shared: boolean): BufferArena | undefined
}

let provider: ArenaProvider | undefined

/** Installs the arena provider plans use (`undefined`: none, every buffer is an ordinary typed array). */
export function setArenaProvider(p: ArenaProvider | undefined): void {
  provider = p
}

/** The installed arena provider, if any. */
export function arenaProvider(): ArenaProvider | undefined {
  return provider
}

/** Larger plans keep ordinary buffers: an arena is one contiguous allocation, reserved whole. */
export const ARENA_LIMIT_BYTES = 1 << 30

/**
 * Workspace reserved after the data for the kernels' column matrices (the im2col of one
 * sample and group: kernel volume x input channels x output positions). The core does not
 * know its kernels' workspace needs, so this is a bound that covers common convolutions:
 * 4 MiB at least (LeNet's largest column matrix is 78 KB), and at least the plan's largest
 * buffer, which a one-sample column matrix exceeds only when the kernel volume is larger
 * than the batch (a 3x3 conv over 64 channels of 64x64 needs 9.4 MB per sample; its
 * activations at batch 64 take 67 MB). A kernel that needs more still runs, correctly, on
 * a copy of its operands in the kernels' staging arena.
 */
export function workspaceBytes(largestBufferBytes: number): number {
  return Math.max(4 << 20, largestBufferBytes)
}

/** Bytes a buffer of `size` elements of 4 bytes takes in an arena (16-byte aligned). */
export function arenaBytesOf(size: number): number {
  return Math.ceil((size * 4) / 16) * 16
}

/** The part of a plan step the arena's layout depends on (plan.ts's Step has these fields). */
export interface ArenaStep {
  readonly node: { readonly id: string; readonly kind: string }
  /** The outputs the step takes from the pool, with their value keys. */
  readonly outputs: readonly (readonly [spec: OutputSpec, key: string])[]
  /** Value keys whose buffers go back to the pool after the step. */
  readonly release: readonly string[]
  /** This step and the next may be prepared together (both take before either releases). */
  readonly besideNext?: boolean
  /** A fused activation step: its value is this key's buffer, and takes nothing. */
  readonly aliasOf?: string
}

/** What a plan's arena holds: pool buffers per pool key (`dtype:size`) and one buffer per float32 leaf. */
export interface ArenaLayout {
  /** How many buffers of each pool key one run has alive at most. */
  readonly buffers: ReadonlyMap<string, number>
  /** Leaves (feeds, parameters) by node id, with their element type and count. */
  readonly leaves: ReadonlyMap<string, { readonly dtype: ArenaDType; readonly size: number }>
  /** Bytes of all of them in an arena. */
  readonly dataBytes: number
  /** The largest single buffer's bytes. */
  readonly largestBytes: number
}

const POOL_KEY = (dtype: DType, size: number): string => `${dtype}:${size}`

function arenaDType(d: DType): d is ArenaDType {
  return d === "float32" || d === "int32"
}

/**
 * The buffers a plan's pool needs in one run, by simulating it: the steps' takes and
 * releases in order, counting the most buffers of each size alive at once. A pair of steps
 * run side by side takes both steps' outputs before releasing either's inputs, which keeps
 * more alive than running them in turn; the simulation assumes every pair runs side by
 * side, so the count bounds any mix (the live set is then a superset at every moment).
 * Fetched outputs are never released within a run (they are copied out at its end), and
 * every buffer is free again when the next run starts, so one run's peak is every run's.
 */
export function planArenaLayout(steps: readonly ArenaStep[]): ArenaLayout {
  const live = new Map<string, number>()
  const most = new Map<string, number>()
  const leaves = new Map<string, { dtype: ArenaDType; size: number }>()
  const poolKeyOf = new Map<string, string>()
  let largest = 0
  const take = (step: ArenaStep): void => {
    if (step.aliasOf !== undefined) {
      const k = poolKeyOf.get(step.aliasOf)
      if (k !== undefined) for (const [, key] of step.outputs) poolKeyOf.set(key, k)
      return
    }
    for (const [spec, key] of step.outputs) {
      if (!arenaDType(spec.dtype)) continue
      const size = sizeOf(spec.shape)
      largest = Math.max(largest, arenaBytesOf(size))
      if (step.node.kind !== "op") {
        leaves.set(step.node.id, { dtype: spec.dtype, size })
        continue
      }
      const k = POOL_KEY(spec.dtype, size)
      const n = (live.get(k) ?? 0) + 1
      live.set(k, n)
      most.set(k, Math.max(most.get(k) ?? 0, n))
      poolKeyOf.set(key, k)
    }
  }
  const release = (step: ArenaStep): void => {
    for (const key of step.release) {
      const k = poolKeyOf.get(key)
      if (k === undefined) continue
      poolKeyOf.delete(key)
      live.set(k, live.get(k)! - 1)
    }
  }
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]
    take(step)
    if (step.besideNext === true && i + 1 < steps.length) {
      take(steps[i + 1])
      release(step)
      release(steps[++i])
    } else {
      release(step)
    }
  }
  let dataBytes = 0
  for (const [k, n] of most) dataBytes += n * arenaBytesOf(Number(k.slice(k.indexOf(":") + 1)))
  for (const { size } of leaves.values()) dataBytes += arenaBytesOf(size)
  return { buffers: most, leaves, dataBytes, largestBytes: largest }
}

/**
 * A plan's arena and what it carved from it. Every arena buffer belongs to the plan: none
 * is ever handed to the caller (runs return copies), so all are free when a run starts.
 */
export class PlanArena {
  /** The pool buffers, per pool key, all carved up front. */
  private readonly carved = new Map<string, DataArray[]>()
  /** One buffer per leaf node, by node id. */
  private readonly leafBuffers = new Map<string, DataArray>()
  /** Ordinary arrays handed back by the caller (Plan.recycle), reused for the next copies out. */
  private readonly outputPool = new Map<string, DataArray[]>()
  /** The caller's tensor behind each leaf buffer filled in this run (returned as is if fetched). */
  private readonly leafSources = new Map<DataArray, Tensor>()

  private constructor(
    readonly arena: BufferArena,
    readonly layout: ArenaLayout,
  ) {}

  /**
   * The arena for a plan's steps, or undefined when the provider is off, the arena would
   * exceed {@link ARENA_LIMIT_BYTES}, or it cannot be made: the plan then allocates
   * ordinary buffers, as without a provider.
   */
  static create(steps: readonly ArenaStep[], shared: boolean): PlanArena | undefined {
    const p = provider
    if (p === undefined || !p.enabled()) return undefined
    const layout = planArenaLayout(steps)
    const work = workspaceBytes(layout.largestBytes)
    if (layout.dataBytes + work > ARENA_LIMIT_BYTES) return undefined
    let arena: BufferArena | undefined
    try {
      arena = p.create(layout.dataBytes, work, shared)
    } catch {
      // out of memory for one contiguous block: ordinary buffers still work
      return undefined
    }
    if (arena === undefined) return undefined
    const a = new PlanArena(arena, layout)
    for (const [k, n] of layout.buffers) {
      const [dtype, size] = k.split(":")
      const list: DataArray[] = []
      for (let i = 0; i < n; i++) list.push(arena.allocate(dtype as ArenaDType, Number(size))!)
      a.carved.set(k, list)
    }
    for (const [id, { dtype, size }] of layout.leaves) a.leafBuffers.set(id, arena.allocate(dtype, size)!)
    return a
  }

  /** Starts a run: returns its pool (every carved buffer free, per pool key) and forgets the last run's leaves. */
  startRun(): Map<string, DataArray[]> {
    this.leafSources.clear()
    return new Map([...this.carved].map(([k, list]) => [k, [...list]]))
  }

  /** True when `a` lives in this arena. */
  holds(a: DataArray): boolean {
    return this.arena.holds(a)
  }

  /** A feed or parameter as the run sees it: its data copied into the leaf's arena buffer. */
  leaf(nodeId: string, t: Tensor): Tensor {
    const buffer = this.leafBuffers.get(nodeId)
    if (buffer === undefined || this.holds(t.data)) return t
    copyArray(t.data, buffer)
    this.leafSources.set(buffer, t)
    return { shape: t.shape, dtype: t.dtype, data: buffer }
  }

  /** Keeps an ordinary array the caller handed back for a later copy out. */
  keepForOutputs(data: DataArray, key: string): void {
    const list = this.outputPool.get(key)
    if (list === undefined) this.outputPool.set(key, [data])
    else if (!list.includes(data)) list.push(data)
  }

  /**
   * The tensors a run returns: arena data copied into ordinary arrays (ones the caller
   * handed back when their size fits, else new ones, whose bytes `fresh` is told), a fed
   * leaf as the caller's own tensor.
   */
  copyOut(values: readonly Tensor[], fresh: (bytes: number) => void): Tensor[] {
    const copies = new Map<DataArray, Tensor>()
    return values.map((t) => {
      if (!this.holds(t.data)) return t
      const source = this.leafSources.get(t.data)
      if (source !== undefined) return source
      let copy = copies.get(t.data)
      if (copy === undefined) {
        let data = this.outputPool.get(POOL_KEY(t.dtype, t.data.length))?.pop()
        if (data === undefined) {
          // a new array outside the arena: shared memory with a thread pool (so the copy
          // can be split across the threads, and kernels can split work on it later)
          const backend = parallelBackend()
          if (backend === undefined) {
            data = t.data.slice()
          } else {
            data = backend.allocShared(t.dtype as "float32" | "int32", t.data.length)
            copyArray(t.data, data)
          }
          fresh(data.byteLength)
        } else {
          copyArray(t.data, data)
        }
        copy = { shape: t.shape, dtype: t.dtype, data }
        copies.set(t.data, copy)
      }
      return copy
    })
  }
}

/**
 * A plan's arena across runs: made at the first run that wants one and kept while it fits
 * the situation. Dropped (back to ordinary buffers) when the provider turns off, e.g. the
 * kernel backend switched to "js"; remade as shared memory when a thread pool appears after
 * a private one was made. A refused arena (too large, out of memory) is not retried until
 * the situation changes.
 */
export class ArenaSlot {
  /** The plan's arena, while it has one. */
  current: PlanArena | undefined
  private refused: { shared: boolean } | undefined

  /**
   * The arena for the next run, with `pool` (the plan's free buffers by pool key) reset to
   * every arena buffer free; or undefined, with `pool` emptied of arena buffers when there
   * was an arena before. Only float32 plans use one.
   */
  prepare(dtype: DType, steps: readonly ArenaStep[], shared: boolean, pool: Map<string, DataArray[]>): PlanArena | undefined {
    const wanted = dtype === "float32" && provider?.enabled() === true
    let a = this.current
    if (!wanted || (a !== undefined && shared && !a.arena.shared)) {
      if (a !== undefined) pool.clear()
      a = this.current = undefined
      if (!wanted) this.refused = undefined
    }
    if (wanted && a === undefined && this.refused?.shared !== shared) {
      a = this.current = PlanArena.create(steps, shared)
      this.refused = a === undefined ? { shared } : undefined
    }
    if (a === undefined) return undefined
    pool.clear()
    for (const [k, list] of a.startRun()) pool.set(k, list)
    return a
  }
}
