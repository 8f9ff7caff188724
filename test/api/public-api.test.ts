import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { publicApi } from "./exports.ts"

const pinned = JSON.parse(readFileSync(new URL("./public-api.json", import.meta.url), "utf8")) as Record<string, string[]>

/**
 * The public API is a reviewed list: adding or removing a name of any entry point fails
 * here until public-api.json says so (`npx tsx test/api/exports.ts > test/api/public-api.json`),
 * so the change shows up in review.
 */
describe("public API", () => {
  const api = publicApi()
  it("has the pinned entry points", () => {
    expect(Object.keys(api).sort()).toEqual(Object.keys(pinned).sort())
  })
  for (const entry of Object.keys(pinned)) {
    it(`${entry} exports exactly the pinned names`, () => {
      const actual = new Set(api[entry] ?? [])
      const expected = new Set(pinned[entry])
      expect({ added: [...actual].filter((n) => !expected.has(n)), removed: [...expected].filter((n) => !actual.has(n)) }).toEqual({ added: [], removed: [] })
    })
  }
  it("keeps the names users' code and the examples depend on", () => {
    const root = new Set(api["."])
    for (const name of ["GraphBuilder", "grad", "compile", "tensor", "conv2d", "relu", "maxPool2d", "avgPool2d", "flatten", "linear", "crossEntropy", "mseLoss", "SGD", "lenet5", "Trainer", "summary", "defineOp", "formatGraph", "toDot"]) {
      expect(root.has(name), name).toBe(true)
    }
    expect(new Set(api["./testing"]).has("checkGradients")).toBe(true)
    expect(new Set(api["./testing"]).has("checkTieAwareGradients")).toBe(true)
    expect(new Set(api["./inspect"]).has("inspectRouting")).toBe(true)
    expect(new Set(api["./inspect"]).has("heatmapSvg")).toBe(true)
  })
})
