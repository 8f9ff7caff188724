// The study runner: same options, same data -> the same numbers bit for bit (results.json
// and report.md byte-identical on a rerun); the CI is Student's t; flags are validated.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { initParameters, lenet5, namedParameters } from "../../src/index.ts"
import { parseStudyArgs, studyMain } from "../../src/node/study-cli.ts"
import { lenet5With, meanCI, runStudy, studyVariant, summarizeStudy } from "../../src/research/study.ts"
import { takeExamples } from "../../src/data/batches.ts"
import { loadMnist } from "../../src/node/mnist.ts"

describe("study runner", () => {
  const dirs = [mkdtempSync(join(tmpdir(), "dagrad-study-a-")), mkdtempSync(join(tmpdir(), "dagrad-study-b-"))]
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

  it("a rerun reproduces results.json and report.md byte for byte", () => {
    const files = dirs.map((out) => {
      const argv = ["--variants", "max-first,avg,lse", "--seeds", "2", "--epochs", "1", "--limit", "48", "--test-limit", "30", "--batch", "16", "--probe", "3", "--evals", "2", "--out", out]
      const r = studyMain(parseStudyArgs(argv), argv, () => {})
      expect(r.runs).toHaveLength(6)
      expect(r.runs[0].losses).toHaveLength(3)
      expect(r.runs[0].evals.map((e) => e.step)).toEqual([2, 3])
      return ["results.json", "report.md", "loss.svg"].map((f) => readFileSync(join(out, f), "utf8").replaceAll(out, "OUT"))
    })
    expect(files[1]).toEqual(files[0])
    const report = files[0][1]
    expect(report.match(/^\| (max-first|avg|lse) \| 2 \|/gm)).toHaveLength(3)
    expect(report).toContain("npm run study -- --variants max-first,avg,lse --seeds 2")
  })

  it("the random variants (stochastic, fractional) and the learnable mix reproduce too: op randomness comes from the Trainer's seed stream", () => {
    const data = { train: takeExamples(loadMnist("train"), 32), test: takeExamples(loadMnist("test"), 10) }
    const opts = { variants: ["stochastic", "fractional", "mixed"], seeds: 1, epochs: 1, batch: 16, probe: 2, evalsPerEpoch: 1 }
    const a = runStudy(opts, data)
    const b = runStudy(opts, data)
    expect(JSON.stringify(b.runs)).toBe(JSON.stringify(a.runs))
    expect(a.runs.every((r) => r.losses.length === 2 && r.losses.every(Number.isFinite))).toBe(true)
  })

  it("routing: avg sends 25% of the mass to each position; max-first's argmax shares add up to 1", () => {
    const r = JSON.parse(readFileSync(join(dirs[0], "results.json"), "utf8"))
    const s = summarizeStudy(r)
    for (const layer of s.find((v) => v.variant === "avg")!.routing) for (const m of layer.massByPosition) expect(m).toBeCloseTo(0.25, 12)
    for (const layer of s.find((v) => v.variant === "max-first")!.routing) expect(layer.winsByPosition!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })

  it("every variant's LeNet-5 has lenet5's parameters, initialised identically", () => {
    const names = (m: ReturnType<typeof lenet5>) => namedParameters(m).map((p) => `${p.name}:${p.shape}`)
    const a = initParameters(lenet5With(studyVariant("lse")), { seed: 3 })
    const b = initParameters(lenet5(), { seed: 3 })
    expect(names(lenet5With(studyVariant("max-split")))).toEqual(names(lenet5()))
    for (const [k, t] of a) expect(Array.from(t.data)).toEqual(Array.from(b.get(k)!.data))
  })

  it("meanCI: Student's t with n - 1 degrees of freedom (worked by hand)", () => {
    const r = meanCI([1, 2, 3]) // s = 1, t(0.975, 2) = 4.303
    expect(r.mean).toBe(2)
    expect(r.ci95).toBeCloseTo(4.303 / Math.sqrt(3), 12)
    expect(meanCI([5]).ci95).toBe(0)
  })

  it("rejects unknown variants and flags with the known names", () => {
    expect(() => parseStudyArgs(["--variants", "max-first,median"])).toThrow(/unknown median \(expected some of max-first/)
    expect(() => parseStudyArgs(["--seed", "3"])).toThrow(/unknown study flag '--seed'/)
    expect(() => parseStudyArgs(["--seeds", "0"])).toThrow(/--seeds 0 \(expected a positive integer\)/)
  })
})
