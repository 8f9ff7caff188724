/**
 * LeNet-5's two convolutions at batch 64 (W1; --batch 256 for W4), float32, one kernel
 * call at a time: forward (+ bias, and + bias + fused relu as the network runs it), input
 * gradient (second layer only: the first one's input is the data) and weight gradient,
 * through the kernel API (src/kernels/conv/conv.ts). Prints the minimum and median of 20 runs
 * after 5 warm-ups. Usage: `npx tsx bench/conv-lenet.ts [--threads N] [--batch B]`
 * (defaults 1 and 64). `--arena` places the operands in a WASM arena; `DAGRAD_BACKEND=js`
 * times the JavaScript kernels.
 */
import { convForward, convBackwardInput, convBackwardWeight } from "../src/kernels/conv/conv.ts"
import { convGeometry } from "../src/kernels/conv/im2col.ts"
import { parallelBackend } from "../src/exec/parallel.ts"
import { startThreadPool } from "../src/node/threads.ts"
import { Random } from "../src/tensor/random.ts"
import { timeRuns } from "./lib/harness.ts"
import { arenaAlloc, createArena } from "../src/kernels/wasm/module.ts"

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const threads = option("--threads", 1)
const batch = option("--batch", 64)
const pool = await startThreadPool(threads)
const backend = parallelBackend()
const rng = new Random(1)
/** With --arena, operands live in one WASM arena (as the executor places them), so the WASM kernels run in place. */
const arena = process.argv.includes("--arena") ? createArena(256 << 20) : undefined
/** Shared memory when there is a pool, as the executor allocates it. */
function random(size: number): Float32Array {
  const a = (arena !== undefined ? arenaAlloc(arena, size)! : (backend?.allocShared("float32", size) ?? new Float32Array(size))) as Float32Array
  for (let i = 0; i < size; i++) a[i] = rng.uniform(-1, 1)
  return a
}

function time(label: string, f: () => void): void {
  const { min, median } = timeRuns(f, 5, 20)
  console.log(`${label.padEnd(46)} min ${min.toFixed(2).padStart(6)} ms   median ${median.toFixed(2).padStart(6)} ms`)
}

console.log(`LeNet-5 convolutions, batch ${batch}, float32, threads ${threads}`)
const layers = [
  { name: "conv1 1->6 28x28 pad 2", cin: 1, cout: 6, size: 28, pad: 2, inputGradient: false },
  { name: "conv2 6->16 14x14", cin: 6, cout: 16, size: 14, pad: 0, inputGradient: true },
]
for (const l of layers) {
  const out = l.size + 2 * l.pad - 4
  const geometry = convGeometry([l.size, l.size], [out, out], [5, 5], [1, 1], [1, 1], [l.pad, l.pad])
  const p = { batch, inChannels: l.cin, outChannels: l.cout, groups: 1, geometry }
  const x = random(batch * l.cin * l.size * l.size)
  const w = random(l.cout * l.cin * 25)
  const bias = random(l.cout)
  const y = random(batch * l.cout * out * out)
  const gx = random(x.length)
  const gw = random(w.length)
  time(`${l.name} forward (+ bias)`, () => convForward(x, w, bias, y, p))
  time(`${l.name} forward (+ bias, relu)`, () => convForward(x, w, bias, y, p, true))
  if (l.inputGradient) time(`${l.name} input gradient`, () => convBackwardInput(y, w, gx, p))
  time(`${l.name} weight gradient`, () => convBackwardWeight(y, x, gw, p))
}
await pool.close()
