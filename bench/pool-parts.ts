/**
 * W2's two kernels alone, one thread, float32 [32, 64, 56, 56]: the 2x2 max-pool forward
 * with and without the argmax, the backward scatter (zeroing each plane first), and a plain
 * fill of the input-sized gradient, plus this machine's copy rates over the same 25.7 MB
 * (native TypedArray.set, a JS copy loop, a JS read loop), to tell memory-bound from
 * instruction-bound. Minimum and median of 15 runs after 3 warm-ups. The pool kernels run on
 * the default float32 backend (WASM where it validates; the arrays are then staged into
 * its memory per group of planes, copies included in the times, then once more on arrays
 * that live in an arena); `DAGRAD_BACKEND=js` for the JS kernels.
 * Usage: `npx tsx bench/pool-parts.ts`. Numbers only.
 */
import { scatterAddPlanes } from "../src/kernels/pool/windows.ts"
import { maxPool2x2 } from "../src/kernels/pool/pool2d.ts"
import { Random } from "../src/tensor/random.ts"
import { timeRuns } from "./lib/harness.ts"
import { useWasmKernels } from "../src/kernels/backend.ts"
import { arenaAlloc, createArena } from "../src/kernels/wasm/module.ts"

const planes = 32 * 64
const [H, W, OH, OW] = [56, 56, 28, 28]
const rng = new Random(1)
const x = Float32Array.from({ length: planes * H * W }, () => rng.uniform(-1, 1))
const y = new Float32Array(planes * OH * OW)
const indices = new Int32Array(y.length)
const gy = Float32Array.from({ length: y.length }, () => rng.uniform(-1, 1))
const gx = new Float32Array(x.length)

function time(label: string, bytes: number, f: () => void): void {
  const { min, median } = timeRuns(f, 3, 15)
  const rate = bytes > 0 ? `   ${(bytes / min / 1e6).toFixed(1)} GB/s at the minimum` : ""
  console.log(`${label.padEnd(44)} min ${min.toFixed(2).padStart(6)} ms   median ${median.toFixed(2).padStart(6)} ms${rate}`)
}

const MB = x.length * 4
console.log(`W2 kernels, one thread, x [32, 64, 56, 56] float32 (${(MB / 1e6).toFixed(1)} MB), pool kernels on ${useWasmKernels() ? "WASM" : "JS"}`)
time("max pool 2x2 forward, values + indices", 0, () => maxPool2x2(x, y, indices, planes, H, W, OH, OW))
time("max pool 2x2 forward, values only", 0, () => maxPool2x2(x, y, undefined, planes, H, W, OH, OW))
time("backward: zero each plane, scatter gy", 0, () => scatterAddPlanes(gy, indices, gx, planes, OH * OW, H * W, true))
if (useWasmKernels()) {
  // the same kernels on arrays that live in one arena: no staging copies
  const arena = createArena(4 * (2 * x.length + 3 * y.length) + 256)
  const f32 = (n: number): Float32Array => arenaAlloc(arena!, n)!
  const ax = f32(x.length)
  ax.set(x)
  const [ay, agy, agx] = [f32(y.length), f32(y.length), f32(x.length)]
  agy.set(gy)
  const ai = new Int32Array(arena!.memory.buffer, f32(y.length).byteOffset, y.length)
  time("in an arena: forward, values + indices", 0, () => maxPool2x2(ax, ay, ai, planes, H, W, OH, OW))
  time("in an arena: forward, values only", 0, () => maxPool2x2(ax, ay, undefined, planes, H, W, OH, OW))
  time("in an arena: backward", 0, () => scatterAddPlanes(agy, ai, agx, planes, OH * OW, H * W, true))
}
time("fill the gradient with 0 (native)", MB, () => gx.fill(0))
time("copy x (native TypedArray.set), read + write", 2 * MB, () => gx.set(x))
time("copy x (JS loop), read + write", 2 * MB, () => {
  for (let i = 0; i < x.length; i++) gx[i] = x[i]
})
time("sum x (JS loop), read", MB, () => {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  if (s === 0.5) console.log(s)
})
