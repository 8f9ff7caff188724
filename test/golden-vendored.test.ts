// test/golden holds copies of the PyTorch golden files whose source is ../shared/golden (next
// to the repository, where the generators live). When that folder is present, the copies
// must be byte-identical to it, file for file; a clone on its own skips the comparison, and
// the skipped test's name says why.
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const vendored = fileURLToPath(new URL("./golden/", import.meta.url))
const source = fileURLToPath(new URL("../../shared/golden/", import.meta.url))
const present = existsSync(source)
const listing = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith(".json") || f === "README.md").sort()

describe("test/golden (vendored PyTorch goldens)", () => {
  it("holds the golden files and their README", () => {
    expect(listing(vendored)).toContain("README.md")
    expect(listing(vendored).filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0)
  })

  it.skipIf(!present)(`matches ${present ? source : "../shared/golden (NOT FOUND beside the repository: comparison skipped)"} file for file, byte for byte`, () => {
    expect(listing(vendored)).toEqual(listing(source))
    for (const f of listing(source)) {
      const same = readFileSync(vendored + f).equals(readFileSync(source + f))
      expect(same, `test/golden/${f} differs from ${source}${f}: copy it again (cp ../shared/golden/* test/golden/)`).toBe(true)
    }
  })
  if (!present) console.warn(`note: ${source} not found; test/golden was not compared with its source`)
})
