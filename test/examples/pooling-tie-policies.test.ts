import { readFileSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { main } from "../../examples/tie-policies.ts"

describe("examples/tie-policies.ts (a call of the study runner)", () => {
  const out = mkdtempSync(join(tmpdir(), "dagrad-ties-"))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("runs every policy on a tiny limit and writes the report with one row per policy", () => {
    const lines: string[] = []
    const r = main(["--limit", "32", "--batch", "16", "--test-limit", "20", "--probe", "2", "--seeds", "1", "--evals", "1", "--out", out], (s) => lines.push(s))
    expect([...new Set(r.runs.map((p) => p.variant))]).toEqual(["max-first", "max-last", "max-split", "max-all"])
    // same seed, same data: every policy starts from the same loss
    expect(new Set(r.runs.map((p) => p.losses[0])).size).toBe(1)
    const report = readFileSync(join(out, "report.md"), "utf8")
    expect(report.match(/^\| max-(first|last|split|all) \| 1 \|/gm)).toHaveLength(4)
    expect(report).toContain("npm run study -- --variants max-first,max-last,max-split,max-all")
    expect(readFileSync(join(out, "loss.svg"), "utf8").match(/class="series"/g)).toHaveLength(4)
  })
})
