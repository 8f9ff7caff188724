/**
 * `npm run study -- --variants max-first,max-last,max-split,avg,lse --seeds 3 --epochs 1
 * --limit 10000 --test-limit 2000 --out DIR`: trains LeNet-5 on MNIST once per seed for
 * each pooling variant (src/research/study.ts) and writes DIR/report.md (mean ± 95% CI per
 * variant, routing table, the exact command and versions), DIR/results.json (every number,
 * full precision), and SVG plots (loss.svg, accuracy.svg, ties.svg). Runs on one thread:
 * the numbers are the same bit for bit on every rerun. Wall times go to DIR/timings.json
 * only, since they are the one thing that changes between reruns.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import "../ops/builtins.ts"
import { takeExamples } from "../data/batches.ts"
import { AttrError } from "../errors.ts"
import { runStudy, studyReportMarkdown, studyVariantNames, type StudyOptions, type StudyResult } from "../research/study.ts"
import { loadMnist } from "./mnist.ts"
import { lineChartSvg, type Series } from "./plot.ts"

/** Parsed command line of the study CLI. */
export interface StudyCliOptions extends StudyOptions {
  readonly limit: number | undefined
  readonly testLimit: number | undefined
  readonly out: string
  readonly dataDir: string | undefined
}

/**
 * Parses the study flags (names fixed by the issue; `--limit`/`--test-limit` as in the train CLI).
 *
 * @example
 * parseStudyArgs(["--variants", "max-first,avg", "--seeds", "2", "--out", "runs/s"]).variants // ["max-first", "avg"]
 */
export function parseStudyArgs(argv: readonly string[]): StudyCliOptions {
  const known = new Set(["variants", "seeds", "epochs", "limit", "test-limit", "out", "batch", "lr", "momentum", "probe", "evals", "data-dir"])
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "")
    if (!argv[i].startsWith("--") || !known.has(name)) throw new AttrError(`unknown study flag '${argv[i]}' (expected one of ${[...known].map((k) => `--${k}`).join(", ")})`)
    if (i + 1 >= argv.length) throw new AttrError(`study flag --${name} needs a value`)
    flags.set(name, argv[i + 1])
  }
  const num = (name: string, fallback: number | undefined, integer = true): number | undefined => {
    const raw = flags.get(name)
    if (raw === undefined) return fallback
    const v = Number(raw)
    if (!(v > 0) || (integer && !Number.isInteger(v))) throw new AttrError(`--${name} ${raw} (expected a positive ${integer ? "integer" : "number"})`)
    return v
  }
  const variants = (flags.get("variants") ?? "max-first,max-last,max-split,avg,lse").split(",").filter((v) => v !== "")
  const unknown = variants.filter((v) => !studyVariantNames().includes(v))
  if (unknown.length > 0) throw new AttrError(`--variants: unknown ${unknown.join(", ")} (expected some of ${studyVariantNames().join(", ")})`)
  return {
    variants,
    seeds: num("seeds", 3)!,
    epochs: num("epochs", 1)!,
    batch: num("batch", 64)!,
    lr: num("lr", 0.05, false)!,
    momentum: Number(flags.get("momentum") ?? 0.9),
    probe: num("probe", 64)!,
    evalsPerEpoch: num("evals", 4)!,
    limit: num("limit", undefined),
    testLimit: num("test-limit", undefined),
    out: flags.get("out") ?? "runs/study",
    dataDir: flags.get("data-dir"),
  }
}

const running = (xs: readonly number[], w = 20): [number, number][] =>
  xs.map((_, i) => {
    const win = xs.slice(Math.max(0, i - w + 1), i + 1)
    return [i + 1, win.reduce((a, b) => a + b, 0) / win.length]
  })

/** Mean over the seeds of a variant, point by point. */
function meanCurve(result: StudyResult, variant: string, curve: (r: StudyResult["runs"][number]) => [number, number][]): [number, number][] {
  const cs = result.runs.filter((r) => r.variant === variant).map(curve)
  return cs[0].map(([x], i) => [x, cs.reduce((a, c) => a + c[i][1], 0) / cs.length])
}

/** The three SVG plots of a study, by file name. */
export function studyPlots(result: StudyResult): { [file: string]: string } {
  const vs = result.options.variants
  const series = (curve: (r: StudyResult["runs"][number]) => [number, number][]): Series[] => vs.map((v) => ({ name: v, points: meanCurve(result, v, curve) }))
  return {
    "loss.svg": lineChartSvg({
      title: `training loss (running mean of 20 steps, mean over ${result.options.seeds} seed(s))`,
      xLabel: "step",
      leftLabel: "cross-entropy",
      series: series((r) => running(r.losses)),
    }),
    "accuracy.svg": lineChartSvg({
      title: `test accuracy on ${result.testCount} images (mean over seeds)`,
      xLabel: "step",
      leftLabel: "accuracy (%)",
      series: series((r) => r.evals.map((e) => [e.step, 100 * e.testAccuracy])),
    }),
    "ties.svg": lineChartSvg({
      title: "windows with a tied maximum, per pooling layer (mean over seeds)",
      xLabel: "step",
      leftLabel: "tied windows (%)",
      series: vs.flatMap((v) => {
        const first = result.runs.find((r) => r.variant === v)!
        return first.evals[0].routing.map((layer, l) => ({
          name: `${v} ${layer.op} #${l + 1}`,
          points: meanCurve(result, v, (r) => r.evals.map((e) => [e.step, 100 * e.routing[l].tiedFraction])),
        }))
      }),
    }),
  }
}

/** The versions line of a report: package version, Node, platform. */
export function studyVersions(): string {
  const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../package.json"), "utf8")) as { version: string }
  return `dagrad ${pkg.version}, Node ${process.version} (${process.platform}-${process.arch}), 1 thread`
}

/** Runs a study from parsed flags and writes its report folder; returns the result. */
export function studyMain(o: StudyCliOptions, argv: readonly string[], log: (line: string) => void = console.log): StudyResult {
  const train = takeExamples(loadMnist("train", o.dataDir), o.limit)
  const test = takeExamples(loadMnist("test", o.dataDir), o.testLimit)
  log(`study: ${o.variants.join(", ")} x ${o.seeds} seed(s); ${train.count} training images x ${o.epochs} epoch(s); ${test.count} test images`)
  const started = performance.now()
  const result = runStudy(o, { train, test }, log)
  const seconds = (performance.now() - started) / 1000
  mkdirSync(o.out, { recursive: true })
  const plots = studyPlots(result)
  for (const [file, svg] of Object.entries(plots)) writeFileSync(join(o.out, file), svg)
  const command = `npm run study -- ${argv.join(" ")}`
  writeFileSync(join(o.out, "report.md"), studyReportMarkdown(result, { command, versions: studyVersions(), plots: Object.keys(plots) }))
  writeFileSync(join(o.out, "results.json"), JSON.stringify({ command, ...result }) + "\n")
  writeFileSync(join(o.out, "timings.json"), JSON.stringify({ seconds: Math.round(seconds * 10) / 10 }) + "\n")
  log(`wrote ${join(o.out, "report.md")}, results.json and ${Object.keys(plots).join(", ")} (${seconds.toFixed(1)} s)`)
  return result
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  studyMain(parseStudyArgs(argv), argv)
}
