import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"

describe("examples/quickstart.ts (the README's first example)", () => {
  it("runs and its loss falls", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "examples/quickstart.ts"], { encoding: "utf8" })
    const losses = [...out.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]))
    expect(losses.length).toBe(4)
    expect(losses[3]).toBeLessThan(losses[0] / 10)
  })
})
