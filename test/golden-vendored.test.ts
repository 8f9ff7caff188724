// test/golden holds copies of the PyTorch golden files whose source is ../shared/golden and
// ../shared/golden-optim (beside the repository, where their generators live), plus golden
// files this repository generates itself with PyTorch (their scripts are in
// test/golden/scripts). When a source folder is present, every file in it must have a
// byte-identical copy here; a clone on its own skips the comparison, and the skipped test's
// name says why.
import { existsSync, readFileSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const vendored = fileURLToPath(new URL("./golden/", import.meta.url))
const sources = ["golden", "golden-optim"].map((d) => fileURLToPath(new URL(`../../shared/${d}/`, import.meta.url)))
const listing = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith(".json") || f === "README.md").sort()
/** Golden files generated here: file -> the script in test/golden/scripts that writes it. */
const GENERATED: { readonly [file: string]: string } = {
  "layers.json": "gen_layers.py",
  "fractional_max_pool.json": "fractional_max_pool.py",
}

describe("test/golden (vendored PyTorch goldens)", () => {
  it("holds the golden files and their README", () => {
    expect(listing(vendored)).toContain("README.md")
    expect(listing(vendored).filter((f) => f.endsWith(".json")).length).toBeGreaterThan(0)
  })

  for (const source of sources) {
    const present = existsSync(source)
    it.skipIf(!present)(`has a byte-identical copy of every file of ${present ? source : `${source} (NOT FOUND beside the repository: comparison skipped)`}`, () => {
      for (const f of listing(source)) {
        expect(existsSync(vendored + f), `test/golden/${f} is missing: copy it (cp ${source}${f} test/golden/)`).toBe(true)
        const same = readFileSync(vendored + f).equals(readFileSync(source + f))
        expect(same, `test/golden/${f} differs from ${source}${f}: copy it again`).toBe(true)
      }
    })
    if (!present) console.warn(`note: ${source} not found; test/golden was not compared with it`)
  }

  it("every other golden file has its generator script here", () => {
    const fromSources = new Set(sources.filter(existsSync).flatMap(listing))
    for (const f of listing(vendored)) {
      if (fromSources.has(f) || f === "README.md") continue
      if (sources.every(existsSync)) expect(GENERATED[f], `test/golden/${f} is in no source folder and has no generator listed`).toBeDefined()
      if (GENERATED[f] !== undefined) expect(existsSync(`${vendored}scripts/${GENERATED[f]}`)).toBe(true)
    }
  })
})
