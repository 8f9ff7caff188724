/** Node-side helpers of the golden runner: where the files are, and running them from disk. */
import { readFileSync, readdirSync, statSync } from "node:fs"
import { basename, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseGoldenFile, runGoldenFile, type CaseResult } from "../testing/golden.ts"
import { goldenHandlers } from "../testing/golden-handlers.ts"
import type { FloatDType } from "../tensor/dtype.ts"

/** The golden directory shipped beside the repository (../shared/golden), or $DAGRAD_GOLDEN_DIR. */
export function defaultGoldenDir(): string {
  const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..")
  return process.env.DAGRAD_GOLDEN_DIR ?? resolve(repoRoot, "../shared/golden")
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

