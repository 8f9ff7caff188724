/**
 * Does the max-pool tie rule matter in training? Trains the same LeNet-5 from the same
 * seed on MNIST under each tie policy — first (PyTorch), last, split, all — and compares.
 *
 *   npx tsx examples/tie-policies.ts [--epochs 1] [--limit N] [--batch 64] [--test-limit 10000]
 *                                    [--probe 256] [--seed 1] [--out runs/tie-policies]
 *
 * Prints a table: final training loss (mean of the last 50 steps), test loss and
 * accuracy, the fraction of pooling windows with a tied maximum in each layer (measured
 * after training on `--probe` test images; "at 0" = tied because ReLU zeroed the whole
 * window, where the policy cannot matter since ReLU's gradient is 0 there too), and the
 * largest parameter difference from the "first" run. Writes the loss curves of all
 * policies to one SVG (loss-curves.svg) and the table to results.md.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { SGD, Sequential, Trainer, buildModelGraph, initParameters, lenet5, type Tensor, type TiePolicy } from "dagrad"
import { batches, epochOrder, lineChartSvg, loadMnist, makeBatch, takeExamples } from "dagrad/node"
import { inspectRouting } from "dagrad/research"

/** lenet5() with both pooling layers under `tie` (same parameter names and init order). */
export function lenet5WithTie(tie: TiePolicy): Sequential {
  return lenet5({ poolTie: tie })
}

export interface TieExampleOptions {
  readonly epochs: number
  readonly limit: number | undefined
  readonly batch: number
  readonly testLimit: number
  readonly probe: number
  readonly seed: number
  readonly out: string
  readonly policies: readonly TiePolicy[]
}

export interface PolicyResult {
  readonly tie: TiePolicy
  readonly losses: number[]
  readonly finalLoss: number
  readonly testLoss: number
  readonly testAccuracy: number
  /** Per pooling layer: tied windows / windows, and tied-at-zero / windows, on the probe images. */
  readonly tied: { readonly fraction: number; readonly zeroFraction: number }[]
  readonly maxParamDiff: number
  readonly seconds: number
}

export function parseArgs(argv: readonly string[]): TieExampleOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : undefined
  }
  const int = (name: string, fallback: number): number => {
    const raw = get(name)
    const v = raw === undefined ? fallback : Number(raw)
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`--${name} ${raw} (expected a positive integer)`)
    return v
  }
  const limit = get("limit")
  const policies = (get("policies") ?? "first,last,split,all").split(",") as TiePolicy[]
  for (const p of policies) if (!["first", "last", "split", "all"].includes(p)) throw new RangeError(`--policies: '${p}' (expected first, last, split, all)`)
  return {
    epochs: int("epochs", 1),
    limit: limit === undefined ? undefined : int("limit", 1),
    batch: int("batch", 64),
    testLimit: int("test-limit", 10000),
    probe: int("probe", 256),
    seed: int("seed", 1),
    out: get("out") ?? "runs/tie-policies",
    policies,
  }
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`

export function main(o: TieExampleOptions, log: (s: string) => void = console.log): PolicyResult[] {
  const train = takeExamples(loadMnist("train"), o.limit)
  const test = takeExamples(loadMnist("test"), o.testLimit)
  const probe = makeBatch(test, Int32Array.from({ length: Math.min(o.probe, test.count) }, (_, i) => i), 0, Math.min(o.probe, test.count))
  log(`LeNet-5, ${train.count} training images x ${o.epochs} epoch(s), batch ${o.batch}, seed ${o.seed}; test on ${test.count}; ties probed on ${probe.x.shape[0]} test images`)
  const results: PolicyResult[] = []
  let reference: Map<string, Tensor> | undefined
  for (const tie of o.policies) {
    const started = performance.now()
    const model = lenet5WithTie(tie)
    const params = initParameters(model, { seed: o.seed })
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) })
    const losses: number[] = []
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      for (const b of batches(train, { batchSize: o.batch, order: epochOrder(train.count, o.seed, epoch) })) losses.push(trainer.step(b.x, b.labels))
    }
    let lossSum = 0
    let correct = 0
    for (const b of batches(test, { batchSize: 500 })) {
      const e = trainer.evaluate(b.x, b.labels)
      lossSum += e.loss * e.count
      correct += e.correct
    }
    const g = buildModelGraph(model, { batchSize: probe.x.shape[0] })
    const maps = inspectRouting(g.builder.graph, { x: probe.x }, params, { skipMass: true })
    const tied = maps.map((m) => ({ fraction: m.tiedWindows! / m.windows!, zeroFraction: m.tiedZeroWindows! / m.windows! }))
    let maxParamDiff = 0
    if (reference === undefined) reference = params
    else for (const [name, t] of params) t.data.forEach((v, i) => (maxParamDiff = Math.max(maxParamDiff, Math.abs(v - reference!.get(name)!.data[i]))))
    const tail = losses.slice(-50)
    const r: PolicyResult = {
      tie,
      losses,
      finalLoss: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length),
      testLoss: lossSum / test.count,
      testAccuracy: correct / test.count,
      tied,
      maxParamDiff,
      seconds: (performance.now() - started) / 1000,
    }
    results.push(r)
    log(`${tie}: ${losses.length} steps in ${r.seconds.toFixed(1)} s, final loss ${r.finalLoss.toFixed(4)}, test accuracy ${pct(r.testAccuracy)}`)
  }

  const header = "| tie | final train loss | test loss | test accuracy | pool1 tied (at 0) | pool2 tied (at 0) | max abs param diff vs first |"
  const rows = results.map(
    (r) =>
      `| ${r.tie} | ${r.finalLoss.toFixed(4)} | ${r.testLoss.toFixed(4)} | ${pct(r.testAccuracy)} | ${r.tied.map((t) => `${pct(t.fraction)} (${pct(t.zeroFraction)})`).join(" | ")} | ${r.tie === o.policies[0] ? "—" : r.maxParamDiff.toExponential(2)} |`,
  )
  const table = [header, "|---|---|---|---|---|---|---|", ...rows].join("\n")
  log("\n" + table)

  mkdirSync(o.out, { recursive: true })
  const smooth = (xs: readonly number[], w = 20): [number, number][] =>
    xs.map((_, i) => {
      const from = Math.max(0, i - w + 1)
      const win = xs.slice(from, i + 1)
      return [i + 1, win.reduce((a, b) => a + b, 0) / win.length] as [number, number]
    })
  const svg = lineChartSvg({
    title: `LeNet-5 on MNIST: training loss per tie policy (${train.count} images x ${o.epochs} epoch(s))`,
    xLabel: "step",
    leftLabel: "training loss (running mean of 20 steps)",
    series: results.map((r) => ({ name: `tie "${r.tie}"`, points: smooth(r.losses) })),
  })
  writeFileSync(join(o.out, "loss-curves.svg"), svg)
  writeFileSync(join(o.out, "results.md"), table + "\n")
  log(`\nwrote ${join(o.out, "loss-curves.svg")} and ${join(o.out, "results.md")}`)
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) main(parseArgs(process.argv.slice(2)))
