import { readFileSync } from "node:fs"
import { basename } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { goldenFiles } from "../src/node/golden-cli-lib.ts"
import { compareToGolden, parseGoldenFile, runGoldenCase } from "../src/testing/golden.ts"
import { goldenHandlers } from "../src/testing/golden-handlers.ts"
import { builtinRegistry } from "../src/ops/builtins.ts"
import { tensor } from "../src/tensor/tensor.ts"

// Every case of every file in test/golden (vendored from ../shared/golden), in float64 (tight) and float32 (loose).
// Cases of ops we do not support yet are reported by vitest as skipped, by name.
for (const path of goldenFiles([fileURLToPath(new URL("./golden/", import.meta.url))])) {
  const file = parseGoldenFile(readFileSync(path, "utf8"), path)
  describe(`golden ${basename(path)}`, () => {
    for (const c of file.cases) {
      const supported = builtinRegistry.ops[c.op] !== undefined || goldenHandlers[c.op] !== undefined
      for (const dtype of ["float64", "float32"] as const) {
        // training trajectories compound float32 rounding over many steps: float64 only
        if (dtype === "float32" && c.op === "training_trajectory") continue
        const test = supported ? it : it.skip
        test(`${c.name} (${c.op}, ${dtype})`, () => {
          const r = runGoldenCase(c, { dtype, handlers: goldenHandlers })
          expect(r.detail ?? "", `${c.name}`).toBe("")
          expect(r.status).toBe("passed")
        })
      }
    }
  })
}

describe("golden comparison rules", () => {
  it("accepts summation-order noise and rejects a real error", () => {
    const want = { shape: [2], dtype: "float64", data: [1.5, -2] }
    expect(compareToGolden("y", tensor([1.5 + 1e-13, -2], [2], "float64"), want, 1e-9)).toBeUndefined()
    expect(compareToGolden("y", tensor([1.5001, -2], [2], "float64"), want, 1e-9)).toMatchObject({ index: 0 })
  })
  it("matches non-finite values exactly and indices exactly", () => {
    const want = { shape: [3], dtype: "float64", data: ["NaN", "Infinity", 0] }
    expect(compareToGolden("y", tensor([NaN, Infinity, 0], [3], "float64"), want, 1e-9)).toBeUndefined()
    expect(compareToGolden("y", tensor([NaN, 1e308, 0], [3], "float64"), want, 1e-9)).toMatchObject({ index: 1 })
    const idx = { shape: [2], dtype: "int64", data: [3, 4] }
    expect(compareToGolden("i", tensor([3, 5], [2], "int32"), idx, 1e-9)).toMatchObject({ index: 1 })
  })
  it("reports a shape mismatch", () => {
    const want = { shape: [2], dtype: "float64", data: [1, 2] }
    expect(compareToGolden("y", tensor([1, 2], [1, 2], "float64"), want, 1e-9)).toMatch(/shape/)
  })
})
