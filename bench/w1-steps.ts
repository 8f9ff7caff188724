/**
 * W1 (LeNet-5 training step, batch 64) from the first step on: prints every step's time and
 * the percentiles of the steps after the first 30, to show how long V8 takes to reach the
 * steady state the benchmark's warm-up waits for (bench/README.md, "Measuring").
 * Usage: `npx tsx bench/w1-steps.ts [--threads N] [--steps 100]`; add node's `--trace-opt`
 * (`node --import tsx --trace-opt bench/w1-steps.ts`) to see the optimizations land.
 */
import { lenetBatch } from "./lib/data.ts"
import { lenetTrainer } from "./systems/dagrad-nn.ts"
import { engineLabels, engineTensor } from "./systems/dagrad-ops.ts"
import { startThreadPool } from "../src/node/threads.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const threads = arg("--threads", 2)
const steps = Math.max(40, arg("--steps", 100))
const pool = await startThreadPool(threads)
const trainer = lenetTrainer()
const { x, labels } = lenetBatch(64)
const xt = engineTensor(x)
const lt = engineLabels(labels)
const ms: number[] = []
for (let i = 0; i < steps; i++) {
  const t0 = performance.now()
  trainer.step(xt, lt)
  ms.push(performance.now() - t0)
  console.log(`step ${i} ${ms[i].toFixed(1)} ms`)
}
const after = ms.slice(30).sort((a, b) => a - b)
const at = (q: number) => after[Math.min(after.length - 1, Math.floor(q * after.length))].toFixed(1)
const first = [...ms.slice(0, 30)].sort((a, b) => a - b)
console.log(`threads ${threads}; steps 0-29: median ${first[15].toFixed(1)} ms, max ${first[29].toFixed(1)} ms`)
console.log(`steps 30-${steps - 1}: min ${at(0)} ms, median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms`)
await pool.close()
