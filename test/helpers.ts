// Helpers shared by op tests: build a graph on named inputs and run it; run golden files.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, tensor, type Tensor, type Value } from "../src/index.ts"
import { parseGoldenFile, runGoldenCase } from "../src/testing/golden.ts"
import { startThreadPool } from "../src/node/threads.ts"
export { randomTensor } from "../src/testing/tensors.ts"

/** `run()` with a worker thread pool of `threads` installed, closed again whatever happens. */
export async function onThreads<T>(threads: number, run: () => T): Promise<T> {
  const pool = await startThreadPool(threads)
  try {
    return run()
  } finally {
    await pool.close()
  }
}

const GOLDEN_DIR = new URL("../../shared/golden/", import.meta.url)

/**
 * One describe per PyTorch golden file (../shared/golden): every case (of `ops` only, when
 * given) in float64 and float32 must pass, and the file must hold at least one such case.
 */
export function describeGoldenFiles(files: readonly string[], ops?: readonly string[]): void {
  for (const file of files) {
    const golden = parseGoldenFile(readFileSync(new URL(file, GOLDEN_DIR), "utf8"), file)
    const cases = golden.cases.filter((c) => ops === undefined || ops.includes(c.op))
    describe(`golden ${file} (PyTorch)`, () => {
      it("has cases", () => expect(cases.length).toBeGreaterThan(0))
      for (const c of cases) {
        for (const dtype of ["float64", "float32"] as const) {
          it(`${c.name} (${dtype})`, () => {
            const r = runGoldenCase(c, { dtype })
            expect(r.detail ?? "").toBe("")
            expect(r.status).toBe("passed")
          })
        }
      }
    })
  }
}

/** Builds `build` on graph inputs named like `inputs` in `dtype`, runs it, returns y. */
export function forward(build: (v: { [k: string]: Value }) => Value, inputs: { [k: string]: Tensor }, dtype: "float32" | "float64" = "float64"): Tensor {
  const b = new GraphBuilder({ dtype })
  const values: { [k: string]: Value } = {}
  for (const [k, t] of Object.entries(inputs)) values[k] = b.input(k, t.shape)
  const y = build(values)
  const feeds: { [k: string]: Tensor } = {}
  for (const [k, t] of Object.entries(inputs)) feeds[k] = tensor(t.data, t.shape, dtype)
  return compile(b.graph, [y]).run(feeds)[0]
}
