/**
 * Prints conv2d forward and forward+backward times for a few CNN-shaped layers (float32,
 * batch 64). Usage: `npx tsx bench/conv-quick.ts [--threads N]`. Numbers only.
 */
import "../src/index.ts"
import { GraphBuilder, compile, conv2d, gradValues, sum, tensor, type ConvOptions, type Value } from "../src/index.ts"
import { startThreadPool } from "../src/node/threads.ts"
import { Random } from "../src/tensor/random.ts"
import { sizeOf } from "../src/tensor/shape.ts"

function bench(xs: number[], ws: number[], attrs: ConvOptions): void {
  const g = new GraphBuilder({ dtype: "float32" })
  const x = g.input("x", xs)
  const w = g.input("w", ws)
  const b = g.input("b", [ws[0]])
  const y = conv2d(x, w, b, attrs)
  const grads = gradValues(g, sum(y), [x, w, b])
  const rng = new Random(1)
  const make = (s: number[]) => tensor(Array.from({ length: sizeOf(s) }, () => rng.uniform(-1, 1)), s, "float32")
  const feeds = { x: make(xs), w: make(ws), b: make([ws[0]]) }
  // multiply-adds of one pass (forward; each backward product costs the same)
  const macs = sizeOf(y.shape) * sizeOf(ws.slice(1))
  for (const [name, fetches, passes] of [
    ["forward", [y], 1],
    ["forward+backward", [y, ...grads], 3],
  ] as [string, Value[], number][]) {
    const plan = compile(g.graph, fetches)
    plan.run(feeds)
    let runs = 0
    const start = performance.now()
    while (performance.now() - start < 1000) {
      plan.run(feeds)
      runs++
    }
    const ms = (performance.now() - start) / runs
    console.log(`x ${JSON.stringify(xs)} w ${JSON.stringify(ws)} ${JSON.stringify(attrs)} ${name}: ${ms.toFixed(1)} ms, ${((2 * macs * passes) / (ms * 1e6)).toFixed(2)} GFLOP/s`)
  }
}

const args = process.argv.slice(2)
const t = args.indexOf("--threads")
const threads = t >= 0 ? Number(args[t + 1]) : 1
const pool = await startThreadPool(threads)
console.log(`threads: ${threads}`)
bench([64, 1, 28, 28], [16, 1, 5, 5], { padding: 2 })
bench([64, 16, 14, 14], [32, 16, 5, 5], { padding: 2 })
bench([64, 32, 7, 7], [64, 32, 3, 3], { padding: 1 })
bench([64, 32, 14, 14], [32, 1, 3, 3], { padding: 1, groups: 32 })
await pool.close()
