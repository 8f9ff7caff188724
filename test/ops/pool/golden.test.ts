// The PyTorch golden cases of the pooling family, in float64 and float32 (also run by
// test/golden.test.ts and `npm run golden`; kept here so the pooling suite stands alone).
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parseGoldenFile, runGoldenCase } from "../../../src/testing/golden.ts"

const dir = new URL("../../../../shared/golden/", import.meta.url)

for (const name of ["max_pool", "avg_pool", "lp_pool", "adaptive_pool", "max_unpool"]) {
  const file = parseGoldenFile(readFileSync(new URL(`${name}.json`, dir), "utf8"), name)
  describe(`golden ${name}.json`, () => {
    it("has cases", () => expect(file.cases.length).toBeGreaterThan(0))
    for (const c of file.cases) {
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
