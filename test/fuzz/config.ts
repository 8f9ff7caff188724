// Sizes of the fuzz suite: small and fixed-seed under `npm test` (a few seconds, the same
// cases every time), any size under `npm run fuzz -- --runs N [--seed S]` (test/fuzz/cli.ts
// passes them in FUZZ_RUNS and FUZZ_SEED).
import type { Parameters } from "fast-check"

const runsFromEnv = Number(process.env.FUZZ_RUNS)
const seedFromEnv = Number(process.env.FUZZ_SEED)

/** True under `npm run fuzz` (sizes given), false under `npm test`. */
export const fuzzing = Number.isInteger(runsFromEnv) && runsFromEnv > 0

/** fast-check parameters for a property whose CI size is `ciRuns`. */
export function fuzzParameters(ciRuns: number): Parameters<unknown> {
  if (!fuzzing) return { numRuns: ciRuns, seed: 20261207 }
  return { numRuns: runsFromEnv, ...(Number.isInteger(seedFromEnv) ? { seed: seedFromEnv } : {}) }
}

/** A vitest timeout that grows with the run count (about `msPerRun` per run). */
export function fuzzTimeout(ciRuns: number, msPerRun: number): number {
  return Math.max(120_000, (fuzzing ? runsFromEnv : ciRuns) * msPerRun)
}
