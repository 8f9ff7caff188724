/**
 * Per-node time breakdown of one dagrad W1 step (LeNet-5 training, batch 64): the same
 * graph the Trainer builds (forward, mean cross-entropy, `grad` for every parameter), run
 * with the executor's `onNode` hook, averaged over several steps after a warm-up.
 *
 *   npx tsx bench/profile-w1.ts [--steps 10] [--warmup 3] [--threads 1] [--top 40] [--no-pairs]
 *
 * `--no-pairs` runs the plan's side-by-side pairs one node after the other instead
 * (RunOptions.sideBySide false), for comparisons within one process.
 *
 * Prints every node sorted by time (forward nodes and the gradient nodes `grad` added),
 * then the same time grouped by op, then how the step's wall time splits between the
 * nodes, the executor and the SGD update.
 */
import { compile } from "../src/index.ts"
import { threadCount } from "../src/exec/parallel.ts"
import { startThreadPool } from "../src/node/threads.ts"
import { SGD } from "../src/optim/index.ts"
import { fmt, table } from "./lib/harness.ts"
import { lenetTraining } from "./lib/lenet-training.ts"

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(process.argv[i + 1])
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`profile-w1: --${name} ${process.argv[i + 1] ?? ""} (expected an integer >= 0)\n`)
    process.exit(2)
  }
  return v
}

const steps = Math.max(1, option("steps", 10))
const warmup = option("warmup", 3)
const threads = Math.max(1, option("threads", 1))
const top = option("top", 40)
const sideBySide = !process.argv.includes("--no-pairs")

const pool = threads > 1 ? await startThreadPool(threads) : undefined

// The Trainer's training graph, built by hand so the plan can be run with the hook.
const batch = 64
const { graph, loss, names, grads, params, feeds } = lenetTraining(batch)
const plan = compile(graph, [loss, ...grads])
const sgd = new SGD({ lr: 0.01 })

interface NodeTime {
  readonly id: string
  readonly op: string
  readonly role: "forward" | "gradient"
  readonly shape: string
  total: number
}
const byNode = new Map<string, NodeTime>()
let record = false
const onNode = (node: { id: string; op: string; role: "forward" | "gradient"; outputs: readonly { shape: readonly number[] }[] }, ms: number): void => {
  if (!record) return
  let t = byNode.get(node.id)
  if (t === undefined) {
    t = { id: node.id, op: node.op, role: node.role, shape: `[${node.outputs[0]?.shape.join(", ") ?? ""}]`, total: 0 }
    byNode.set(node.id, t)
  }
  t.total += ms
}

let runMs = 0
let updateMs = 0
let lossValue = Number.NaN
/** Bytes of fresh buffers the plan allocated in each step (its pool reuses the rest). */
const freshBytes: number[] = []
function step(): void {
  const t0 = performance.now()
  const out = plan.run(feeds, params, { onNode, sideBySide })
  freshBytes.push(plan.lastRunAllocatedBytes)
  lossValue = out[0].data[0]
  const t1 = performance.now()
  sgd.step(params, new Map(names.map((n, i) => [n, out[i + 1]])))
  plan.recycle(out)
  const t2 = performance.now()
  if (record) {
    runMs += t1 - t0
    updateMs += t2 - t1
  }
}

for (let i = 0; i < warmup; i++) step()
record = true
const arrayBuffersBefore = process.memoryUsage().arrayBuffers
for (let i = 0; i < steps; i++) step()
const arrayBuffersAfter = process.memoryUsage().arrayBuffers
await pool?.close()

const nodes = [...byNode.values()].sort((a, b) => b.total - a.total)
const nodeMs = nodes.reduce((s, n) => s + n.total, 0) / steps
const stepMs = (runMs + updateMs) / steps
const pct = (ms: number): string => ((100 * ms) / stepMs).toFixed(1)

console.log(`dagrad W1 profile: LeNet-5 training step, batch ${batch}, float32, threads ${threadCount() === 1 ? threads : threadCount()}`)
console.log(`${plan.order.length} plan steps (${nodes.length} op nodes), mean over ${steps} steps after ${warmup} warm-up; loss ${lossValue.toFixed(6)}`)
const pairs = plan.concurrent.map(([a, b]) => `${a} | ${b}`).join(", ")
console.log(
  threads === 2 && sideBySide
    ? `side by side, one per thread (the node sent to the worker reports only the time the pair waited for it): ${pairs}`
    : `side by side with 2 threads (not in this run): ${pairs}`,
)
console.log(`per-node times use performance.now() around each kernel; % is of the whole step (run + SGD update)\n`)

let cumulative = 0
const rows: string[][] = [["#", "node", "op", "pass", "output", "mean ms", "%", "cum %"]]
nodes.slice(0, top > 0 ? top : nodes.length).forEach((n, i) => {
  const ms = n.total / steps
  cumulative += ms
  rows.push([String(i + 1), n.id, n.op, n.role === "forward" ? "fwd" : "bwd", n.shape, fmt(ms), pct(ms), pct(cumulative)])
})
console.log(table(rows))
if (top > 0 && nodes.length > top) console.log(`... ${nodes.length - top} more nodes (--top 0 shows all)`)

const byOp = new Map<string, { op: string; role: string; count: number; total: number }>()
for (const n of nodes) {
  const key = `${n.op}:${n.role}`
  const e = byOp.get(key) ?? { op: n.op, role: n.role === "forward" ? "fwd" : "bwd", count: 0, total: 0 }
  e.count++
  e.total += n.total
  byOp.set(key, e)
}
const opRows: string[][] = [["op", "pass", "nodes", "mean ms", "%"]]
for (const e of [...byOp.values()].sort((a, b) => b.total - a.total)) opRows.push([e.op, e.role, String(e.count), fmt(e.total / steps), pct(e.total / steps)])
console.log("\nby op\n" + table(opRows))

const fwd = nodes.filter((n) => n.role === "forward").reduce((s, n) => s + n.total, 0) / steps
const bwd = nodes.filter((n) => n.role === "gradient").reduce((s, n) => s + n.total, 0) / steps
console.log(
  "\nstep split\n" +
    table([
      ["part", "mean ms", "%"],
      ["forward nodes", fmt(fwd), pct(fwd)],
      ["backward (gradient) nodes", fmt(bwd), pct(bwd)],
      ["executor outside kernels", fmt(runMs / steps - nodeMs), pct(runMs / steps - nodeMs)],
      ["SGD update + recycle", fmt(updateMs / steps), pct(updateMs / steps)],
      ["whole step", fmt(stepMs), "100.0"],
    ]),
)

const timed = freshBytes.slice(warmup)
const mb = (bytes: number): string => (bytes / 1e6).toFixed(2)
console.log(
  "\nmemory (the executor's buffer pool; a steady-state step should allocate nothing)\n" +
    table([
      ["measure", "value"],
      ["fresh buffer bytes, first step (the pool filling)", String(freshBytes[0])],
      [`fresh buffer bytes per timed step (max of ${timed.length})`, String(Math.max(0, ...timed))],
      ["ArrayBuffer memory before / after the timed steps (MB)", `${mb(arrayBuffersBefore)} / ${mb(arrayBuffersAfter)}`],
    ]),
)
