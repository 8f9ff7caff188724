/**
 * Does the max-pool tie rule matter in training? LeNet-5 on MNIST under each tie policy
 * (first = PyTorch, last, split, all), several seeds each, through the study runner
 * (src/research/study.ts): loss and accuracy curves, tie frequency and gradient routing
 * per pooling layer, mean ± 95% CI per policy, written to a report folder.
 *
 *   npx tsx examples/tie-policies.ts [--seeds 3] [--epochs 1] [--limit N] [--test-limit N] [--out runs/tie-policies]
 *
 * is `npm run study -- --variants max-first,max-last,max-split,max-all ...` with these flags.
 */
import { parseStudyArgs, studyMain } from "dagrad/node"
import type { StudyResult } from "dagrad/research"

/** Runs the tie-policy study with `argv` (study flags; --variants defaults to the four policies). */
export function main(argv: readonly string[], log: (line: string) => void = console.log): StudyResult {
  const full = argv.includes("--variants") ? [...argv] : ["--variants", "max-first,max-last,max-split,max-all", ...(argv.includes("--out") ? [] : ["--out", "runs/tie-policies"]), ...argv]
  return studyMain(parseStudyArgs(full), full, log)
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2))
