/**
 * `npm run fuzz -- --runs N [--seed S]`: the fuzz suite (test/fuzz) with N runs per
 * property (fast-check) and a random seed unless one is given; prints the wall time.
 */
import { spawnSync } from "node:child_process"
import { parseArgs } from "node:util"

const { values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" } }, strict: true })
const runs = Number(values.runs ?? 1000)
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs expects a positive integer, got ${values.runs}`)
  process.exit(2)
}
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31))
console.log(`fuzz: ${runs} runs per property, seed ${seed}`)
const started = performance.now()
const result = spawnSync("npx", ["vitest", "run", "test/fuzz"], { stdio: "inherit", env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: seed } })
console.log(`fuzz: ${runs} runs per property, seed ${seed}: ${result.status === 0 ? "passed" : "FAILED"} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exit(result.status ?? 1)
