/**
 * Two systems on one workload, measured alternately in fresh processes (A, B, A, B, ...),
 * so each pair meets the same machine state: on a shared VM whose speed drifts by tens of
 * percent within minutes, a ratio from one pair of neighbouring runs is steadier than one
 * from a long run. Prints each pair's medians and their ratio, then the median ratio.
 *
 *   npx tsx bench/alternate.ts [--only W1] [--systems dagrad,pytorch] [--threads 1] [--pairs 4]
 */
import { spawnSync } from "node:child_process"

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : process.argv[i + 1]
}

const workload = option("--only", "W1")
const [a, b] = option("--systems", "dagrad,pytorch").split(",")
const threads = option("--threads", "1")
const pairs = Number(option("--pairs", "4"))

/** One system's median ms on the workload, from `npm run bench -- --json` in a fresh process. */
function median(system: string): number {
  const r = spawnSync("npx", ["tsx", "bench/run.ts", "--only", workload, "--system", system, "--threads", threads, "--json"], { encoding: "utf8" })
  const line = r.stdout.split("\n").find((l) => l.startsWith("{"))
  if (r.status !== 0 || line === undefined) throw new Error(`${system} ${workload}: no result (exit ${r.status})\n${r.stderr.slice(-2000)}`)
  return (JSON.parse(line) as { median_ms: number }).median_ms
}

const ratios: number[] = []
console.log(`${workload}, ${threads} thread(s): ${a} and ${b} alternately, ${pairs} pairs (median ms per run)`)
console.log(`pair  ${a.padStart(10)}  ${b.padStart(10)}  ${`${a}/${b}`.padStart(16)}`)
for (let i = 1; i <= pairs; i++) {
  const ma = median(a)
  const mb = median(b)
  ratios.push(ma / mb)
  console.log(`${String(i).padStart(4)}  ${ma.toFixed(3).padStart(10)}  ${mb.toFixed(3).padStart(10)}  ${(ma / mb).toFixed(3).padStart(16)}`)
}
const sorted = [...ratios].sort((x, y) => x - y)
const mid = sorted.length % 2 === 1 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2
console.log(`median ratio ${a}/${b}: ${mid.toFixed(3)}`)
