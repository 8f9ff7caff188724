/**
 * `npm run fuzz -- --runs N [--seed S] [--suite engine|ties]`: a fuzz suite with N runs per
 * property (fast-check) and a random seed unless one is given; prints the wall time.
 * engine (default): test/fuzz, random op chains and CNNs, malformed tensors, file faults.
 * ties: the tie-aware checker's properties over every max-type pool and policy
 * (test/research/tie-properties.test.ts; ~0.3 s per run).
 */
import { spawnSync } from "node:child_process"
import { parseArgs } from "node:util"

const { values } = parseArgs({ options: { runs: { type: "string" }, seed: { type: "string" }, suite: { type: "string" } }, strict: true })
const suites: { readonly [name: string]: string } = { engine: "test/fuzz", ties: "test/research/tie-properties.test.ts" }
const suite = values.suite ?? "engine"
if (suites[suite] === undefined) {
  console.error(`--suite expects engine or ties, got ${suite}`)
  process.exit(2)
}
const runs = Number(values.runs ?? 1000)
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs expects a positive integer, got ${values.runs}`)
  process.exit(2)
}
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31))
console.log(`fuzz (${suite}): ${runs} runs per property, seed ${seed}`)
const started = performance.now()
const result = spawnSync("npx", ["vitest", "run", suites[suite]], { stdio: "inherit", env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_SEED: seed, DAGRAD_FUZZ_RUNS: String(runs) } })
console.log(`fuzz (${suite}): ${runs} runs per property, seed ${seed}: ${result.status === 0 ? "passed" : "FAILED"} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
process.exit(result.status ?? 1)
