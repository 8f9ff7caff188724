import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parseGoldenFile, runGoldenCase } from "../../src/testing/golden.ts"
import { moduleGoldenHandlers } from "../../src/testing/module-golden.ts"

// PyTorch 1.13 goldens of whole torch.nn layers, the mse / BCE-with-logits extensions and
// max_unpool after overlapping max pooling (test/golden/scripts/gen_layers.py).
const file = parseGoldenFile(readFileSync(new URL("../golden/layers.json", import.meta.url), "utf8"), "layers.json")

describe("golden layers.json", () => {
  it("has every case under a distinct name", () => {
    expect(new Set(file.cases.map((c) => c.name)).size).toBe(file.cases.length)
  })
  for (const c of file.cases) {
    for (const dtype of ["float64", "float32"] as const) {
      it(`${c.name} (${c.op}${c.op === "module" ? ` ${String(c.attrs?.class)}` : ""}, ${dtype})`, () => {
        const r = runGoldenCase(c, { dtype, handlers: moduleGoldenHandlers })
        expect(r.detail ?? "", c.name).toBe("")
        expect(r.status).toBe("passed")
      })
    }
  }
})
