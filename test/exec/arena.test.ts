import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { GraphBuilder, builtinRegistry, compile, crossEntropy, gradValues, neg, sum, tensor, type Tensor } from "../../src/index.ts"
import { ARENA_LIMIT_BYTES, PlanArena, arenaProvider, planArenaLayout, setArenaProvider, type ArenaProvider } from "../../src/exec/arena.ts"
import { setParallelBackend } from "../../src/exec/parallel.ts"
import { installKernelTask } from "../../src/exec/offload.ts"
import type { Graph } from "../../src/graph/builder.ts"
import type { AnyOp } from "../../src/graph/op.ts"
import type { Registry } from "../../src/graph/registry.ts"
import { setKernelBackend } from "../../src/kernels/backend.ts"
import { arenaOf, stagingArena, wasmAvailable, type Arena } from "../../src/kernels/wasm/module.ts"
import { buildModelGraph, lenet5 } from "../../src/nn/index.ts"
import type { DataArray } from "../../src/tensor/dtype.ts"
import { onThreads, randomTensor, standInBackend } from "../helpers.ts"

// The executor keeps a float32 plan's buffers in one WASM arena while the WASM kernels are
// on (src/exec/arena.ts, src/kernels/wasm/plan-arena.ts): every kernel operand is in it,
// nothing it returns is, and results are those of ordinary buffers, bit for bit.

const wasmProvider = arenaProvider()
// about the WASM backend's arena, also when the suite runs with DAGRAD_BACKEND=js
beforeEach(() => {
  if (wasmAvailable()) setKernelBackend("wasm")
})
afterEach(() => {
  setArenaProvider(wasmProvider)
  setKernelBackend(undefined)
  setParallelBackend(undefined)
  installKernelTask(builtinRegistry)
})

/** The typed arrays every kernel of the graph's ops sees (inputs, outputs, activation mask), per call. */
type Seen = DataArray[][]

/**
 * The graph with every op's kernel wrapped to record its operands in `seen` (a registry of
 * copies: the executor looks kernels up in the graph's registry).
 */
function probed(graph: Graph, seen: Seen): Graph {
  const wrap = (k: (args: never) => void) => (args: { inputs: Record<string, Tensor>; outputs: Record<string, Tensor>; activationMask?: Tensor }) => {
    seen.push([...Object.values(args.inputs), ...Object.values(args.outputs), ...(args.activationMask ? [args.activationMask] : [])].map((t) => t.data))
    k(args as never)
  }
  const ops: Record<string, AnyOp> = {}
  for (const [name, op] of Object.entries(graph.registry.ops)) {
    const kernel = typeof op.kernel === "function" ? wrap(op.kernel) : Object.fromEntries(Object.entries(op.kernel).map(([d, k]) => [d, k && wrap(k)]))
    ops[name] = { ...op, kernel } as AnyOp
  }
  return { ...graph, registry: { ops } as Registry }
}

const float32 = (t: Tensor): Tensor => tensor(t.data, t.shape, "float32")
const bits = (ts: readonly Tensor[]): number[][] => ts.map((t) => Array.from(t.data))

/** A LeNet-5 training step at batch 16 (loss and every parameter's gradient), its kernels probed. */
function lenetTraining() {
  const g = buildModelGraph(lenet5(), { batchSize: 16, training: true, dtype: "float32" })
  const target = g.builder.input("target", [16], "int32")
  const loss = crossEntropy(g.output, target, { reduction: "mean" })
  const grads = gradValues(g.builder, loss, [...g.trainable.values()])
  const seen: Seen = []
  const graph = probed(g.builder.graph, seen)
  const plan = compile(graph, [loss, ...grads])
  const params = new Map<string, Tensor>([...g.trainable.keys()].map((name, i) => [name, float32(randomTensor([...g.trainable.get(name)!.shape], 300 + i))]))
  const feeds = { x: float32(randomTensor([16, 1, 28, 28], 7)), target: tensor(Array.from({ length: 16 }, (_, i) => i % 10), [16], "int32") }
  return { plan, params, feeds, seen, registry: graph.registry }
}

/** The one arena every array in `seen` lives in; fails when one is outside it or in another. */
function oneArena(seen: Seen): Arena {
  const arenas = new Set(seen.flat().map((a) => arenaOf(a)))
  expect([...arenas].length).toBe(1)
  const [arena] = arenas
  expect(arena).toBeDefined()
  return arena!
}

describe.runIf(wasmAvailable())("a float32 plan's buffers in one WASM arena", () => {
  it("puts every operand of every kernel of a LeNet-5 training step in one arena that keeps its size", () => {
    const { plan, params, feeds, seen } = lenetTraining()
    plan.run(feeds, params)
    // conv, pooling (with its int32 argmax), matmul, loss...: one call per kernel at least
    expect(seen.length).toBeGreaterThan(20)
    const arena = oneArena(seen)
    const bytes = arena.bytes
    const memoryBytes = arena.memory.buffer.byteLength
    expect(arena.memory.buffer).not.toBeInstanceOf(SharedArrayBuffer)
    seen.length = 0
    plan.run(feeds, params)
    expect(oneArena(seen)).toBe(arena)
    expect(arena.bytes).toBe(bytes)
    expect(arena.memory.buffer.byteLength).toBe(memoryBytes)
    // the usable bytes stop 16 short of the memory's end (room for masked vector over-reads)
    expect(memoryBytes - bytes).toBe(16)
  })

  it("runs every WASM kernel in place: nothing is copied into the staging arena", () => {
    const { plan, params, feeds } = lenetTraining()
    plan.run(feeds, params)
    // mark the whole staging arena; a kernel that staged its operands would write there
    const staging = stagingArena(1)!
    const words = new Uint32Array(staging.memory.buffer)
    words.fill(0xdeadbeef)
    plan.run(feeds, params)
    expect(stagingArena(1)).toBe(staging)
    expect(words.every((w) => w === 0xdeadbeef)).toBe(true)
    // without the arena the same step stages (so the mark can show it)
    setArenaProvider(undefined)
    const ordinary = lenetTraining()
    ordinary.plan.run(feeds, params)
    expect(words.every((w) => w === 0xdeadbeef)).toBe(false)
  })

  it("returns ordinary typed arrays (copies), the caller's own tensor for a fetched feed", () => {
    const { plan, params, feeds } = lenetTraining()
    const first = plan.run(feeds, params)
    for (const t of first) {
      expect(arenaOf(t.data)).toBeUndefined()
      expect(t.data).toBeInstanceOf(Float32Array)
      expect(t.data.buffer).toBeInstanceOf(ArrayBuffer)
    }
    // copies stay valid after the next run, and recycling them makes later runs allocate nothing
    const kept = bits(first)
    const second = plan.run(feeds, params)
    expect(bits(first)).toEqual(kept)
    plan.recycle([...first, ...second])
    plan.run(feeds, params)
    expect(plan.lastRunAllocatedBytes).toBe(0)

    const b = new GraphBuilder({ dtype: "float32" })
    const x = b.input("x", [3])
    const negatedRef = neg(x)
    const fetchFeed = compile(b.graph, [x, negatedRef])
    const xv = tensor([1, 2, 3], [3], "float32")
    const [same, negated] = fetchFeed.run({ x: xv })
    expect(same).toBe(xv)
    expect(Array.from(negated.data)).toEqual([-1, -2, -3])
  })

  it("computes the bits of ordinary buffers (same kernels, on staged copies), run after run", () => {
    const { plan, params, feeds } = lenetTraining()
    const inArena = bits(plan.run(feeds, params))
    expect(bits(plan.run(feeds, params))).toEqual(inArena)
    setArenaProvider(undefined)
    const { plan: ordinary, seen } = lenetTraining()
    expect(bits(ordinary.run(feeds, params))).toEqual(inArena)
    expect(seen.flat().every((a) => arenaOf(a) === undefined)).toBe(true)
  })

  it("matches the JS kernels within float32 rounding; with backend js, no arena at all", () => {
    const { plan, params, feeds } = lenetTraining()
    const wasm = plan.run(feeds, params)
    setKernelBackend("js")
    const js = lenetTraining()
    const reference = js.plan.run(feeds, params)
    expect(js.seen.flat().every((a) => arenaOf(a) === undefined)).toBe(true)
    wasm.forEach((t, i) => {
      const scale = Math.max(1e-3, ...Array.from(reference[i].data, Math.abs))
      const worst = Math.max(...Array.from(t.data, (v, j) => Math.abs(v - reference[i].data[j])))
      expect(worst / scale).toBeLessThan(1e-4)
    })
    // the same plan drops its arena when the backend turns to js, and takes one again after
    js.seen.length = 0
    js.plan.run(feeds, params)
    expect(js.seen.flat().every((a) => arenaOf(a) === undefined)).toBe(true)
    setKernelBackend("wasm")
    js.seen.length = 0
    expect(bits(js.plan.run(feeds, params))).toEqual(bits(wasm))
    oneArena(js.seen)
  })

  it("with a thread pool, the arena is shared memory, pairs fit in it, and 1 and 2 threads give the same bits", async () => {
    const { plan, params, feeds, seen, registry } = lenetTraining()
    const serial = bits(plan.run(feeds, params))
    // a stand-in pool that runs every pair side by side (both prepared before either releases)
    const beside: string[] = []
    installKernelTask(registry)
    setParallelBackend({ ...standInBackend({ onBeside: (task) => beside.push(task) }), registry })
    seen.length = 0
    expect(bits(plan.run(feeds, params))).toEqual(serial)
    expect(beside.length).toBe(2)
    const shared = oneArena(seen)
    expect(shared.memory.buffer).toBeInstanceOf(SharedArrayBuffer)
    setParallelBackend(undefined)
    installKernelTask(builtinRegistry)
    seen.length = 0
    const threaded = await onThreads(2, () => [plan.run(feeds, params), plan.run(feeds, params)].map(bits))
    expect(threaded).toEqual([serial, serial])
    expect(oneArena(seen)).toBe(shared)
  })

  it("falls back to ordinary buffers, with the same bits, when no arena can be made", () => {
    const { plan, params, feeds } = lenetTraining()
    const expected = bits(plan.run(feeds, params))
    let asked = 0
    const refusing: ArenaProvider = {
      enabled: () => true,
      create: () => {
        asked++
        return undefined
      },
    }
    setArenaProvider(refusing)
    const { plan: refused, seen } = lenetTraining()
    expect(bits(refused.run(feeds, params))).toEqual(expected)
    expect(bits(refused.run(feeds, params))).toEqual(expected)
    expect(asked).toBe(1) // not retried every run
    expect(seen.flat().every((a) => arenaOf(a) === undefined)).toBe(true)
  })
})

/** Installs a provider that records the data bytes each plan asks for and makes no arena. */
function recordArenaRequests(asked: number[]): void {
  setArenaProvider({
    enabled: () => true,
    create: (dataBytes) => {
      asked.push(dataBytes)
      return undefined
    },
  })
}

describe("the arena's size, from the pool simulated over one run", () => {
  /** The data bytes a plan asks its arena for (the provider records them and makes none). */
  function askedBytes(build: (b: GraphBuilder) => Parameters<typeof compile>[1], feeds: Record<string, Tensor>): number[] {
    const asked: number[] = []
    recordArenaRequests(asked)
    const b = new GraphBuilder({ dtype: "float32" })
    const fetches = build(b)
    compile(b.graph, fetches).run(feeds)
    return asked
  }

  it("counts the most buffers of each size alive at once, the leaves, and the fetches", () => {
    // 16 intermediate [1000] tensors, at most two alive at once; x is a leaf; the sum a fetch
    const bytes = askedBytes(
      (b) => {
        let v = b.input("x", [1000])
        for (let i = 0; i < 8; i++) v = neg(neg(v))
        return [sum(v)]
      },
      { x: tensor(new Float32Array(1000), [1000], "float32") },
    )
    expect(bytes).toEqual([2 * 4000 + 4000 + 16])
  })

  it("keeps both of a pair's outputs alive with their inputs (every pair may run side by side)", () => {
    const spec = (size: number) => ({ name: "y", shape: [size], dtype: "float32" as const })
    const step = (id: string, out: string[], release: string[], besideNext = false) => ({
      node: { id, kind: id === "x" ? "input" : "op" },
      outputs: out.map((k) => [spec(10), k] as const),
      release,
      besideNext,
    })
    // p and q, then b (p's last reader) beside c (q's): in turn, c could reuse p's buffer
    // (3 alive at most); side by side, p, q, b and c are alive together
    const paired = [step("x", ["x:y"], []), step("p", ["p:y"], []), step("q", ["q:y"], []), step("b", ["b:y"], ["p:y"], true), step("c", ["c:y"], ["q:y"])]
    const layout = planArenaLayout(paired)
    expect(layout.buffers.get("float32:10")).toBe(4)
    expect(layout.leaves.get("x")).toEqual({ dtype: "float32", size: 10 })
    // 40 bytes rounded up to 48 each
    expect(layout.dataBytes).toBe(5 * 48)
    expect(planArenaLayout(paired.map((s) => ({ ...s, besideNext: false }))).buffers.get("float32:10")).toBe(3)
  })

  it("asks for no arena past ARENA_LIMIT_BYTES (the plan keeps ordinary buffers)", () => {
    const asked: number[] = []
    recordArenaRequests(asked)
    const step = (id: string, size: number) => ({ node: { id, kind: "op" }, outputs: [[{ name: "y", shape: [size], dtype: "float32" as const }, `${id}:y`] as const], release: [] })
    // two buffers of a quarter of the limit each, and the workspace as large as the largest:
    // three quarters of it, asked for
    const quarter = ARENA_LIMIT_BYTES / 16 // float32 elements
    PlanArena.create([step("a", quarter), step("b", quarter)], false)
    expect(asked).toEqual([ARENA_LIMIT_BYTES / 2])
    // half and a quarter of it (and 16 bytes) in buffers, and a half in workspace: past it
    PlanArena.create([step("a", quarter * 2), step("b", quarter + 4)], false)
    expect(asked.length).toBe(1)
  })
})
