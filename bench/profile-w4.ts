/**
 * Per-op profile of W4 (LeNet-5 inference, batch 256, float32, inference graph as the
 * Trainer's predict builds it):
 *   npx tsx bench/profile-w4.ts [--steps 10] [--warmup 3] [--threads 1]
 */
import { buildModelGraph } from "../src/nn/index.ts"
import { lenet5 } from "../src/nn/index.ts"
import { compile } from "../src/index.ts"
import { lenetBatch, lenetParams } from "./lib/data.ts"
import { engineTensor } from "./systems/dagrad-ops.ts"
import type { Tensor } from "../src/index.ts"
import { startThreadPool } from "../src/node/threads.ts"

const option = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const steps = option("steps", 10)
const warmup = option("warmup", 3)
const batch = 256
const pool = await startThreadPool(option("threads", 1))
const g = buildModelGraph(lenet5(), { batchSize: batch, training: false, dtype: "float32" })
const plan = compile(g.builder.graph, [g.output])
const params = new Map<string, Tensor>()
for (const [name, t] of lenetParams()) params.set(name, engineTensor(t))
const feeds = { x: engineTensor(lenetBatch(batch).x) }
const byOp = new Map<string, number>()
let record = false
const onNode = (node: { id: string; op: string }, ms: number): void => {
  if (record) byOp.set(`${node.id} (${node.op})`, (byOp.get(`${node.id} (${node.op})`) ?? 0) + ms)
}
let total = 0
for (let i = 0; i < warmup + steps; i++) {
  record = i >= warmup
  const t0 = performance.now()
  plan.recycle(plan.run(feeds, params, { onNode }))
  if (record) total += performance.now() - t0
}
console.log(`W4 LeNet-5 inference batch ${batch}, threads ${pool.threads}: ${(total / steps).toFixed(2)} ms per batch, ${((batch * steps * 1000) / total).toFixed(0)} images/s`)
for (const [k, v] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`${k.padEnd(40)} ${(v / steps).toFixed(3)} ms`)
await pool.close()
