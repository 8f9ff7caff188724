import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { main, parseArgs } from "../../examples/pooling-routing.ts"

describe("examples/pooling-routing.ts", () => {
  const out = mkdtempSync(join(tmpdir(), "dagrad-routing-"))
  afterAll(() => rmSync(out, { recursive: true, force: true }))

  it("trains a few steps, maps both pooling layers' wins for one digit, writes the SVGs", () => {
    const lines: string[] = []
    const r = main(parseArgs(["--steps", "3", "--batch", "8", "--out", out]), (s) => lines.push(s))
    expect(r.losses).toHaveLength(3)
    expect(r.maps.map((m) => m.inputShape)).toEqual([
      [1, 6, 28, 28],
      [1, 16, 10, 10],
    ])
    // every window picks exactly one element: the wins add up to the number of windows
    for (const m of r.maps) expect(Array.from(m.winCounts.data).reduce((a, c) => a + c, 0)).toBe(m.windows)
    expect(r.files.map((f) => f.slice(out.length + 1))).toEqual(["digit.svg", "pool1-wins.svg", "pool1-wins-sum.svg", "pool2-wins.svg", "pool2-wins-sum.svg"])
    for (const f of r.files) expect(existsSync(f) && readFileSync(f, "utf8").startsWith("<svg")).toBe(true)
    const text = lines.join("\n")
    expect(text).toContain("pool1 (")
    expect(text).toMatch(/pool2 +400 /)
  })
})
