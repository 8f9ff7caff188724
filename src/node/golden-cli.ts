/**
 * `npm run golden -- [DIR|FILE ...] [--dtype float32|float64] [--op NAME] [--verbose]`
 * Runs PyTorch golden cases (default: ../shared/golden) through the engine, prints one line
 * per failing case with its worst mismatch, the ops it skipped as unsupported, and a closing
 * `N passed, N failed` line; exits 1 on any failure.
 */
import { formatGoldenReport } from "../testing/golden.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import { defaultGoldenDir, runGoldenPaths } from "./golden-cli-lib.ts"

function main(argv: readonly string[]): number {
  const paths: string[] = []
  let dtype: FloatDType = "float64"
  let op: string | undefined
  let verbose = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === "--dtype") {
      const d = argv[++i]
      if (d !== "float32" && d !== "float64") throw new Error(`--dtype ${d} (expected float32 or float64)`)
      dtype = d
    } else if (a === "--op") op = argv[++i]
    else if (a === "--verbose" || a === "-v") verbose = true
    else paths.push(a)
  }
  const results = runGoldenPaths(paths.length > 0 ? paths : [defaultGoldenDir()], dtype, op)
  if (verbose) for (const r of results) if (r.status === "passed") console.log(`ok   ${r.file}: ${r.name} (${r.op})`)
  console.log(formatGoldenReport(results))
  return results.some((r) => r.status === "failed") ? 1 : 0
}

process.exitCode = main(process.argv.slice(2))
