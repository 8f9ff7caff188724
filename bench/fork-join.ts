/**
 * The thread pool's dispatch cost: a no-op task (two 8-element parts of relu's task) posted
 * 2,000 times back to back, then 300 times each after the main thread has been busy for a
 * 0.2 / 1 / 3 ms gap (a worker that has been idle longer wakes more slowly: its vCPU sleeps).
 * Usage: `npx tsx bench/fork-join.ts` (2 threads). Numbers only.
 */
import "../src/index.ts"
import { parallelBackend, runTask } from "../src/exec/parallel.ts"
import { startThreadPool } from "../src/node/threads.ts"

const pool = await startThreadPool(2)
const a = parallelBackend()!.allocShared("float32", 16)
const parts = [
  { arrays: [a, a, a], numbers: [0, 8] },
  { arrays: [a, a, a], numbers: [8, 16] },
]
const dispatch = () => runTask("relu.pass_where_positive", parts)
for (let i = 0; i < 1000; i++) dispatch()
const t0 = performance.now()
for (let i = 0; i < 2000; i++) dispatch()
console.log(`back to back: ${(((performance.now() - t0) / 2000) * 1000).toFixed(1)} us per no-op task`)
const busy = (ms: number) => {
  const t = performance.now()
  while (performance.now() - t < ms);
}
for (const gap of [0.2, 1, 3]) {
  const us: number[] = []
  for (let i = 0; i < 300; i++) {
    busy(gap)
    const t = performance.now()
    dispatch()
    us.push((performance.now() - t) * 1000)
  }
  us.sort((x, y) => x - y)
  console.log(`after a ${gap} ms gap: median ${us[150].toFixed(0)} us, p90 ${us[270].toFixed(0)} us, max ${us[299].toFixed(0)} us`)
}
await pool.close()
