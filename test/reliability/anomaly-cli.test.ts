// The train CLI's --detect-anomaly: a diverging run (lr 1e30) stops at the first non-finite
// value with the node named, instead of training on NaN.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { main } from "../../src/node/train-cli.ts"

afterEach(() => vi.restoreAllMocks())

describe("npm run train -- --detect-anomaly", () => {
  it("stops a diverging run at the first non-finite node output, naming it", async () => {
    const errors: string[] = []
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void errors.push(a.join(" ")))
    vi.spyOn(console, "log").mockImplementation(() => {})
    vi.spyOn(process.stdout, "write").mockImplementation(() => true)
    const out = mkdtempSync(join(tmpdir(), "dagrad-anomaly-"))
    const args = ["train", "--model", "mlp", "--epochs", "1", "--limit", "256", "--test-limit", "64", "--lr", "1e30", "--threads", "1", "--out", out]
    expect(await main([...args, "--detect-anomaly"])).not.toBe(0)
    expect(errors.join("\n")).toMatch(/op [a-z_0-9]+: anomaly detected in (forward|gradient) node '[^']+'.*holds (NaN|-?Infinity)/)
  })
})
