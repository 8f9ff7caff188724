/**
 * The playground's training loop in Node, for comparing with the page: the same session
 * code, the same MNIST subset (run `npm run playground:data` first), one thread.
 *
 *     npx tsx playground/scripts/bench-node.ts [--steps 300] [--threads 1] [--model lenet5] [--lr 0.02] [--batch 32] [--optimizer momentum]
 *
 * Prints training images/s (steps only, evaluation excluded, as the page reports it) and
 * the test accuracy on the 2,000-image subset every 100 steps. `--threads 2` uses
 * dagrad/node's worker-thread pool, as the page uses its Web Worker pool.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { startThreadPool } from "../../src/node/threads.ts"
import { loadMnist } from "../src/data.ts"
import { DEFAULT_CONFIG, TrainingSession, parseConfig } from "../src/session.ts"

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "300" },
    threads: { type: "string", default: "1" },
    model: { type: "string", default: DEFAULT_CONFIG.model },
    lr: { type: "string", default: String(DEFAULT_CONFIG.lr) },
    batch: { type: "string", default: String(DEFAULT_CONFIG.batchSize) },
    optimizer: { type: "string", default: DEFAULT_CONFIG.optimizer },
    tie: { type: "string", default: DEFAULT_CONFIG.tie },
  },
})
const dir = join(import.meta.dirname, "..", "public", "mnist")
const { train, test } = await loadMnist("", () => {}, async (name) => new Uint8Array(readFileSync(join(dir, name))))
const config = parseConfig({ model: values.model, lr: Number(values.lr), batchSize: Number(values.batch), optimizer: values.optimizer, tie: values.tie, seed: DEFAULT_CONFIG.seed })
const threads = Number(values.threads)
const pool = await startThreadPool(threads)
const session = new TrainingSession(config, train, test)
const steps = Number(values.steps)
let trainMs = 0
for (let done = 0; done < steps; ) {
  const n = Math.min(100, steps - done)
  const t0 = performance.now()
  const losses = session.trainSteps(n)
  trainMs += performance.now() - t0
  done += n
  const { accuracy } = session.evaluate()
  console.log(`step ${session.step}: mean loss ${(losses.reduce((a, b) => a + b, 0) / n).toFixed(4)}, test accuracy ${accuracy.toFixed(2)}%`)
}
console.log(`${config.model}, batch ${config.batchSize}: ${((steps * config.batchSize) / (trainMs / 1000)).toFixed(0)} training images/s in Node ${process.version} (${threads === 1 ? "one thread" : `${threads} threads`})`)
await pool.close()
