/**
 * The cost of anomaly detection (RunOptions.detectAnomaly): LeNet-5 training steps (batch
 * 64, one thread) alternated in rounds with detection off and on, after a warm-up; prints
 * the median step time of each and the overhead. Detection scans every node output once.
 * Usage: `npx tsx bench/anomaly-cost.ts [--steps 40] [--threads 1]`
 */
import { lenetBatch, lenetParams } from "./lib/data.ts"
import { engineLabels, engineTensor } from "./systems/dagrad-ops.ts"
import { lenet5 } from "../src/nn/models.ts"
import { Trainer } from "../src/nn/trainer.ts"
import { SGD } from "../src/optim/sgd.ts"
import { startThreadPool } from "../src/node/threads.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const steps = arg("--steps", 40)
const threads = arg("--threads", 1)
const pool = await startThreadPool(threads)
const { x, labels } = lenetBatch(64)
const xt = engineTensor(x)
const lt = engineLabels(labels)
const params = () => new Map([...lenetParams()].map(([name, t]) => [name, engineTensor(t)]))
const trainer = (detectAnomaly: boolean): Trainer => new Trainer({ model: lenet5(), params: params(), optimizer: new SGD({ lr: 0.01 }), detectAnomaly })
const systems = { off: trainer(false), on: trainer(true) }
const times: { off: number[]; on: number[] } = { off: [], on: [] }
for (let i = 0; i < 20; i++) for (const t of Object.values(systems)) t.step(xt, lt) // warm-up
for (let i = 0; i < steps; i++) {
  // alternate so machine load drifts hit both alike
  for (const key of i % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
    const t0 = performance.now()
    systems[key].step(xt, lt)
    times[key].push(performance.now() - t0)
  }
}
const median = (a: number[]): number => [...a].sort((p, q) => p - q)[a.length >> 1]
const off = median(times.off)
const on = median(times.on)
console.log(`LeNet-5 training step, batch 64, ${threads} thread(s), ${steps} steps each, median:`)
console.log(`  detectAnomaly off ${off.toFixed(2)} ms, on ${on.toFixed(2)} ms: +${(((on - off) / off) * 100).toFixed(1)}%`)
await pool.close()
