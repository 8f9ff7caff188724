/**
 * The plan's WASM arena (src/exec/arena.ts) against ordinary buffers, in one process: the
 * W1 training step (LeNet-5, batch 64, float32, one thread, WASM kernels) run by two plans
 * of the same graph, one with its buffers in the arena (kernels in place), one without an
 * arena provider (each WASM kernel copies its operands into the staging arena and back),
 * steps alternating between them so both see the same machine load.
 *
 *   npx tsx bench/arena.ts [--steps 60] [--warmup 30]
 *
 * Prints each variant's median and minimum step time, the arena's size and what making
 * one costs.
 */
import { compile, type Tensor } from "../src/index.ts"
import { arenaProvider, setArenaProvider, type ArenaProvider } from "../src/exec/arena.ts"
import { useWasmKernels } from "../src/kernels/backend.ts"
import { SGD } from "../src/optim/index.ts"
import { fmt, median, table } from "./lib/harness.ts"
import { lenetParams } from "./lib/data.ts"
import { lenetTraining } from "./lib/lenet-training.ts"
import { engineTensor } from "./systems/dagrad-ops.ts"

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  const v = i < 0 ? fallback : Number(process.argv[i + 1])
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} ${process.argv[i + 1]} (expected an integer >= 1)`)
  return v
}
const steps = option("steps", 60)
const warmup = option("warmup", 30)
if (!useWasmKernels()) throw new Error("the WASM kernels are off (DAGRAD_BACKEND=js or no WebAssembly SIMD): nothing to compare")

const batch = 64
const { graph, loss, names, grads, feeds } = lenetTraining(batch)
const wasmArena = arenaProvider()
if (wasmArena === undefined) throw new Error("no arena provider installed")
/** The sizes the arena plan asked for (data, workspace). */
let asked: [number, number] = [0, 0]
const recording: ArenaProvider = {
  enabled: () => wasmArena.enabled(),
  create(dataBytes, workspaceBytes, shared) {
    asked = [dataBytes, workspaceBytes]
    return wasmArena.create(dataBytes, workspaceBytes, shared)
  },
}

interface Variant {
  readonly name: string
  readonly provider: ArenaProvider | undefined
  readonly plan: ReturnType<typeof compile>
  readonly params: Map<string, Tensor>
  readonly sgd: SGD
  readonly times: number[]
}
const variant = (name: string, provider: ArenaProvider | undefined): Variant => ({
  name,
  provider,
  plan: compile(graph, [loss, ...grads]),
  params: new Map([...lenetParams()].map(([n, t]) => [n, engineTensor(t)])),
  sgd: new SGD({ lr: 0.01 }),
  times: [],
})
const variants = [variant("arena (in place)", recording), variant("ordinary buffers (staging copies)", undefined)]

/** One training step as the Trainer takes it: run, SGD update, recycle. */
function step(v: Variant, record: boolean): void {
  setArenaProvider(v.provider)
  const t0 = performance.now()
  const out = v.plan.run(feeds, v.params)
  v.sgd.step(v.params, new Map(names.map((n, i) => [n, out[i + 1]])))
  v.plan.recycle(out)
  if (record) v.times.push(performance.now() - t0)
}

for (let i = 0; i < warmup; i++) for (const v of variants) step(v, false)
for (let i = 0; i < steps; i++) for (const v of variants) step(v, true)
setArenaProvider(wasmArena)

const rows = variants.map((v) => [v.name, fmt(median(v.times)), fmt(Math.min(...v.times))])
console.log(`W1 step (LeNet-5 train, batch ${batch}, 1 thread, WASM kernels), ${steps} steps each, alternating\n`)
console.log(table([["buffers", "median ms", "min ms"], ...rows]))

const made: number[] = []
for (let i = 0; i < 20; i++) {
  const t0 = performance.now()
  wasmArena.create(asked[0], asked[1], false)
  made.push(performance.now() - t0)
}
const mb = (b: number): string => (b / 1e6).toFixed(2)
console.log(`\narena: ${mb(asked[0])} MB of buffers + ${mb(asked[1])} MB workspace reserve; making one takes ${fmt(median(made))} ms (median of 20)`)
