import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { lenet5WithTie, main, parseArgs } from "../../examples/tie-policies.ts"
import { initParameters, lenet5, namedParameters } from "../../src/index.ts"

describe("examples/tie-policies.ts", () => {
  const out = mkdtempSync(join(tmpdir(), "dagrad-ties-"))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("the tie-policy LeNet-5 has lenet5's parameters, initialised identically from the same seed", () => {
    const names = (m: ReturnType<typeof lenet5>) => namedParameters(m).map((p) => `${p.name}:${p.shape}`)
    expect(names(lenet5WithTie("split"))).toEqual(names(lenet5()))
    const a = initParameters(lenet5WithTie("all"), { seed: 3 })
    const b = initParameters(lenet5(), { seed: 3 })
    for (const [k, t] of a) expect(Array.from(t.data)).toEqual(Array.from(b.get(k)!.data))
  })

  it("runs every policy on a tiny limit, prints the table and writes the loss-curve SVG", () => {
    const lines: string[] = []
    const r = main(parseArgs(["--limit", "64", "--batch", "16", "--test-limit", "50", "--probe", "4", "--out", out]), (s) => lines.push(s))
    expect(r.map((p) => p.tie)).toEqual(["first", "last", "split", "all"])
    for (const p of r) {
      expect(p.losses).toHaveLength(4)
      expect(p.testAccuracy).toBeGreaterThanOrEqual(0)
      expect(p.tied).toHaveLength(2)
      for (const t of p.tied) expect(t.zeroFraction).toBeLessThanOrEqual(t.fraction)
    }
    // same seed, same data: every policy starts from the same loss
    expect(new Set(r.map((p) => p.losses[0])).size).toBe(1)
    const table = lines.join("\n")
    expect(table).toContain("| tie | final train loss |")
    expect(table.match(/^\| (first|last|split|all) \|/gm)).toHaveLength(4)
    const svg = readFileSync(join(out, "loss-curves.svg"), "utf8")
    expect(svg.match(/class="series"/g)).toHaveLength(4)
    expect(existsSync(join(out, "results.md"))).toBe(true)
  })

  it("rejects an unknown policy", () => {
    expect(() => parseArgs(["--policies", "first,max"])).toThrow(/expected first, last, split, all/)
  })
})
