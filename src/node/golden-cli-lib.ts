/** Node-side helpers of the golden runner: where the files are, running them from disk, the CLI. */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs"
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { formatGoldenReport, parseGoldenFile, runGoldenFile, type CaseResult } from "../testing/golden.ts"
import { goldenHandlers } from "../testing/golden-handlers.ts"
import type { FloatDType } from "../tensor/dtype.ts"

/**
 * The default golden directory: $DAGRAD_GOLDEN_DIR, else the repository's vendored copies
 * (test/golden, two levels above this file from src/node/ and from dist/node/ alike).
 * An installed package does not ship them: there, pass a directory.
 */
export function defaultGoldenDir(): string {
  const packageRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..")
  return process.env.DAGRAD_GOLDEN_DIR ?? resolve(packageRoot, "test/golden")
}

/** Expands directories to their *.json files (sorted). */
export function goldenFiles(paths: readonly string[]): string[] {
  const out: string[] = []
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      out.push(...readdirSync(p).filter((f) => f.endsWith(".json")).sort().map((f) => join(p, f)))
    } else out.push(p)
  }
  return out
}

export function runGoldenPaths(paths: readonly string[], dtype: FloatDType, opFilter?: string): (CaseResult & { file: string })[] {
  const results: (CaseResult & { file: string })[] = []
  for (const path of goldenFiles(paths)) {
    const file = parseGoldenFile(readFileSync(path, "utf8"), path)
    const filtered = opFilter === undefined ? file : { ...file, cases: file.cases.filter((c) => c.op === opFilter) }
    for (const r of runGoldenFile(filtered, { dtype, handlers: goldenHandlers })) results.push({ ...r, file: basename(path) })
  }
  return results
}

/**
 * The golden runner's command line: `[DIR|FILE ...] [--dtype float32|float64] [--op NAME]
 * [--verbose]`. Prints one line per failing case and a closing `N passed, N failed` line;
 * returns the exit code (1 on any failure or usage error).
 */
export function goldenMain(argv: readonly string[]): number {
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
  if (paths.length === 0) {
    const dir = defaultGoldenDir()
    if (!existsSync(dir)) {
      console.error(`error: no golden directory given and ${dir} does not exist; pass a directory of golden-v1 JSON files (dagrad golden DIR)`)
      return 1
    }
    paths.push(dir)
  }
  for (const p of paths) {
    if (!existsSync(p)) {
      console.error(`error: ${p} does not exist (expected a golden-v1 JSON file or a directory of them)`)
      return 1
    }
  }
  const results = runGoldenPaths(paths, dtype, op)
  if (verbose) for (const r of results) if (r.status === "passed") console.log(`ok   ${r.file}: ${r.name} (${r.op})`)
  console.log(formatGoldenReport(results))
  return results.some((r) => r.status === "failed") ? 1 : 0
}
