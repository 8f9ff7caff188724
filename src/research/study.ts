/**
 * Reproducible pooling studies: train LeNet-5 on MNIST-shaped data several times per
 * pooling variant (one run per seed), record loss and accuracy curves and gradient-routing
 * statistics over training, and summarise each variant by mean ± 95% confidence interval.
 * Everything here is a pure function of its options and data, run on one thread with
 * seeded initialisation, data order and op randomness, so rerunning gives the same numbers
 * bit for bit. The Node CLI (src/node/study-cli.ts, `npm run study`) loads the data and
 * writes the report folder; this file is browser-safe.
 *
 * Routing statistics, per pooling layer, on the first `probe` test images:
 *   tied / tied at 0   windows whose maximum is tied (exactly), and tied because ReLU
 *                      zeroed the whole window
 *   mass by position   the share of the gradient an all-ones upstream sends to each
 *                      position of the (non-overlapping) window, through the layer's own
 *                      gradient rule: 25% each for 2x2 average pooling; for max pooling
 *                      under "first" the top-left position collects every tie
 *   wins by position   max-type layers: the share of windows whose saved argmax sits at
 *                      each window position
 */
import { gradValues } from "../autodiff/grad.ts"
import { batches, epochOrder, makeBatch, type ImageDataset } from "../data/batches.ts"
import { AttrError } from "../errors.ts"
import { compile } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import type { GraphNode } from "../graph/types.ts"
import type { Graph } from "../graph/builder.ts"
import { lenet5 } from "../nn/models.ts"
import { buildModelGraph, initParameters, type Module } from "../nn/module.ts"
import { AvgPool2d, MaxPool2d } from "../nn/pooling.ts"
import { PoolLayer } from "../nn/research-pooling.ts"
import { Sequential } from "../nn/sequential.ts"
import { Trainer } from "../nn/trainer.ts"
import type { AnyOp } from "../graph/op.ts"
import { poolParams } from "../ops/pool/geometry.ts"
import { fractionalMaxPool2d, fractionalWindowList } from "../ops/pool-research/fractional.ts"
import { mixedPool2d } from "../ops/pool-research/mixed.ts"
import { lsePool2d, softPool2d } from "../ops/pool-research/smooth.ts"
import { stochasticPool2d } from "../ops/pool-research/stochastic.ts"
import { windowMembers } from "../ops/pool-research/windows.ts"
import { sigmoid } from "../ops/pointwise/index.ts"
import { sum } from "../ops/reduce/index.ts"
import { lookupOp } from "../graph/registry.ts"
import { SGD } from "../optim/sgd.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { tieSets } from "./windows.ts"

/** A pooling variant a study compares: LeNet-5 with both pooling layers replaced. */
export interface StudyVariant {
  readonly name: string
  /** One line for the report. */
  readonly description: string
  /** A fresh pooling layer (called once per pooling layer). */
  pool(): Module
}

const variants = new Map<string, StudyVariant>()

/**
 * Adds a variant to the table `studyVariant` reads (the research pooling ops register
 * theirs: lse, softpool, mixed, stochastic, fractional).
 *
 * @example
 * registerStudyVariant({ name: "avg3", description: "3x3 average, stride 2", pool: () => new AvgPool2d(3, { stride: 2, padding: 1 }) })
 */
export function registerStudyVariant(v: StudyVariant): void {
  variants.set(v.name, v)
}

for (const tie of ["first", "last", "split", "all"] as const) {
  registerStudyVariant({ name: `max-${tie}`, description: `2x2 max pooling, tie "${tie}"`, pool: () => new MaxPool2d(2, { tie }) })
}
registerStudyVariant({ name: "avg", description: "2x2 average pooling", pool: () => new AvgPool2d(2) })
registerStudyVariant({
  name: "lse",
  description: "2x2 LogSumExp pooling, temperature 0.5",
  pool: () => new PoolLayer("LsePool2d", "LsePool2d(2, temperature=0.5)", (x) => lsePool2d(x, { kernel_size: 2, temperature: 0.5 })),
})
registerStudyVariant({
  name: "softpool",
  description: "2x2 SoftPool, temperature 1",
  pool: () => new PoolLayer("SoftPool2d", "SoftPool2d(2)", (x) => softPool2d(x, { kernel_size: 2 })),
})

registerStudyVariant({
  name: "mixed",
  description: "2x2 mixed max-average pooling, α = sigmoid(θ) learnable per layer (θ starts at 0: α = 0.5)",
  pool: () =>
    new PoolLayer("MixedPool2d", "MixedPool2d(2, alpha=sigmoid(mix))", (x, ctx) => mixedPool2d(x, { kernel_size: 2, alpha: sigmoid(ctx.param("mix")) }), [
      { name: "mix", shape: [1], init: { kind: "constant", value: 0 }, trainable: true },
    ]),
})
registerStudyVariant({
  name: "mixed-0.5",
  description: "2x2 mixed max-average pooling, α = 0.5 fixed",
  pool: () => new PoolLayer("MixedPool2d", "MixedPool2d(2, alpha=0.5)", (x) => mixedPool2d(x, { kernel_size: 2, alpha: 0.5 })),
})
registerStudyVariant({
  name: "stochastic",
  description: "2x2 stochastic pooling (sampled ∝ activation in training, probability-weighted in eval)",
  pool: () => new PoolLayer("StochasticPool2d", "StochasticPool2d(2)", (x, ctx) => stochasticPool2d(x, { kernel_size: 2 }, ctx.training ? ctx.seedInput() : undefined)),
})
registerStudyVariant({
  name: "fractional",
  description: "fractional max pooling, kernel 2, output half the input (fresh samples per step in training, the u = 0.5 grid in eval)",
  pool: () =>
    new PoolLayer("FractionalMaxPool2d", "FractionalMaxPool2d(2, output_ratio=0.5)", (x, ctx) =>
      fractionalMaxPool2d(x, { kernel_size: 2, output_ratio: 0.5 }, ctx.training ? { seed: ctx.seedInput() } : {}).y,
    ),
})

/** The registered variant names. */
export function studyVariantNames(): string[] {
  return [...variants.keys()]
}

/** A registered variant by name; an unknown name is an AttrError listing the known ones. */
export function studyVariant(name: string): StudyVariant {
  const v = variants.get(name)
  if (v === undefined) throw new AttrError(`study variant '${name}' (expected one of ${studyVariantNames().join(", ")})`)
  return v
}

/** LeNet-5 (lenet5()'s layers, names and initialisation) with each pooling layer from `variant`. */
export function lenet5With(variant: StudyVariant): Sequential {
  const base = lenet5()
  return new Sequential(
    base.children.map(([name, m]) => [name, name.startsWith("pool") ? variant.pool() : m] as const),
    { inputShape: base.inputShape },
  )
}

/** What {@link runStudy} trains: variant names, seeds and epochs, and the SGD and evaluation settings (defaults: batch 64, lr 0.05, momentum 0.9). */
export interface StudyOptions {
  readonly variants: readonly string[]
  /** Seeds 1..seeds, one run each. */
  readonly seeds: number
  readonly epochs: number
  readonly batch?: number
  readonly lr?: number
  readonly momentum?: number
  /** Test images the routing statistics are measured on. Default 64. */
  readonly probe?: number
  /** Evaluations (test loss/accuracy and routing) per epoch. Default 4. */
  readonly evalsPerEpoch?: number
}

/** The MNIST-shaped train and test sets a study runs on (the Node CLI loads them). */
export interface StudyData {
  readonly train: ImageDataset
  readonly test: ImageDataset
}

/** Routing statistics of one pooling layer at one point of training. */
export interface LayerRouting {
  readonly layer: string
  readonly op: string
  readonly windows: number
  readonly tiedFraction: number
  readonly tiedZeroFraction: number
  /** Share of the all-ones gradient per window position (row-major in the window). */
  readonly massByPosition: number[]
  /** Max-type layers: share of windows whose argmax is at each position. */
  readonly winsByPosition?: number[]
}

/** One evaluation during a run: test loss and accuracy and the routing statistics, after `step` steps. */
export interface StudyEval {
  /** Training steps done. */
  readonly step: number
  readonly testLoss: number
  readonly testAccuracy: number
  readonly routing: LayerRouting[]
}

/** One training run (one variant, one seed): its step losses, evaluations and final figures. */
export interface StudyRun {
  readonly variant: string
  readonly seed: number
  /** Training loss of every step. */
  readonly losses: number[]
  readonly evals: StudyEval[]
  /** Mean of the last 50 step losses. */
  readonly finalTrainLoss: number
  readonly testLoss: number
  readonly testAccuracy: number
}

/** Everything {@link runStudy} recorded: the options with defaults filled in, the data sizes and every run. */
export interface StudyResult {
  readonly options: Required<StudyOptions>
  readonly trainCount: number
  readonly testCount: number
  readonly runs: StudyRun[]
}

const DEFAULTS = { batch: 64, lr: 0.05, momentum: 0.9, probe: 64, evalsPerEpoch: 4 }

/** The pooling nodes of a graph: forward ops reading `x` with a `kernel_size` attr. */
function poolNodes(graph: Graph): GraphNode[] {
  return graph.order
    .map((id) => graph.nodes[id])
    .filter((n) => n.kind === "op" && n.role === "forward" && n.inputs.x !== undefined && Array.isArray(n.attrs.kernel_size))
}

/** d/dx sum(op(x)) through the node's own gradient rule (eval-mode attrs as stored). */
function onesGradient(graph: Graph, node: GraphNode, x: Tensor): Tensor {
  const b = new GraphBuilder({ dtype: "float64", registry: graph.registry })
  const xv = b.input("x", x.shape)
  const apply = b.apply as (o: AnyOp, i: { readonly [k: string]: Value }, a: unknown) => { [k: string]: Value }
  const y = apply.call(b, lookupOp(graph.registry, node.op, node.id), { x: xv }, node.attrs).y
  const [g] = gradValues(b, sum(y), [xv])
  return compile(b.graph, [g]).run({ x: { shape: x.shape, dtype: "float64", data: Float64Array.from(x.data) } })[0]
}

/**
 * Routing statistics of every pooling layer of `model` on `probe` images (an inference
 * graph: eval-mode behaviour of stochastic layers).
 */
export function poolingRouting(model: Module, params: Map<string, Tensor>, probe: Tensor): LayerRouting[] {
  const g = buildModelGraph(model, { batchSize: probe.shape[0] })
  const graph = g.builder.graph
  const nodes = poolNodes(graph)
  const inputs = compile(graph, nodes.map((n) => n.inputs.x)).run({ x: probe }, params)
  const withIndices = nodes.filter((n) => n.outputs.some((o) => o.name === "indices"))
  const indices = withIndices.length === 0 ? [] : compile(graph, withIndices.map((n) => ({ node: n.id, output: "indices" }))).run({ x: probe }, params)
  return nodes.map((n, k) => {
    const x = inputs[k]
    const dims = (n.attrs.kernel_size as number[]).length
    const w = n.op.startsWith("fractional_max_pool")
      ? fractionalWindowList(dims as 2 | 3, x.shape, n.attrs as never, new Float64Array(x.shape[0] * x.shape[1] * dims).fill(0.5))
      : windowMembers(x.shape, poolParams(n.attrs as { kernel_size?: unknown }, dims, { padding: true, dilation: true }))
    const ties = tieSets(x.data, w).filter((T) => T.length > 1)
    const width = w.members.reduce((a, m) => Math.max(a, m.length), 0)
    const mass = onesGradient(graph, n, x).data
    const byPos = new Array<number>(width).fill(0)
    w.members.forEach((m) => m.forEach((i, p) => (byPos[p] += mass[i])))
    const total = byPos.reduce((a, b) => a + b, 0)
    const saved = indices[withIndices.indexOf(n)]
    let winsByPosition: number[] | undefined
    if (saved !== undefined) {
      winsByPosition = new Array<number>(width).fill(0)
      w.members.forEach((m, o) => {
        const p = m.findIndex((i) => i % w.inPlane === saved.data[o])
        if (p >= 0) winsByPosition![p] += 1 / w.count
      })
    }
    return {
      layer: n.id,
      op: n.op,
      windows: w.count,
      tiedFraction: ties.length / w.count,
      tiedZeroFraction: ties.filter((T) => x.data[T[0]] === 0).length / w.count,
      massByPosition: byPos.map((v) => (total === 0 ? 0 : v / total)),
      ...(winsByPosition ? { winsByPosition } : {}),
    }
  })
}

function evaluateTest(trainer: Trainer, test: ImageDataset): { loss: number; accuracy: number } {
  let lossSum = 0
  let correct = 0
  for (const b of batches(test, { batchSize: 500 })) {
    const e = trainer.evaluate(b.x, b.labels)
    lossSum += e.loss * e.count
    correct += e.correct
  }
  return { loss: lossSum / test.count, accuracy: correct / test.count }
}

/**
 * Trains every variant once per seed (1..seeds) and records curves and routing.
 *
 * @example
 * const r = runStudy({ variants: ["max-first", "avg"], seeds: 2, epochs: 1 }, { train, test })
 * summarizeStudy(r).map((s) => [s.variant, s.testAccuracy.mean])
 */
export function runStudy(optionsIn: StudyOptions, data: StudyData, log: (line: string) => void = () => {}): StudyResult {
  const options = { ...DEFAULTS, ...optionsIn } as Required<StudyOptions>
  for (const name of options.variants) studyVariant(name)
  for (const [k, v] of Object.entries({ seeds: options.seeds, epochs: options.epochs, batch: options.batch, probe: options.probe, evalsPerEpoch: options.evalsPerEpoch })) {
    if (!Number.isInteger(v) || v < 1) throw new AttrError(`study ${k} = ${v} (expected a positive integer)`)
  }
  const { train, test } = data
  const probeCount = Math.min(options.probe, test.count)
  const probe = makeBatch(test, Int32Array.from({ length: probeCount }, (_, i) => i), 0, probeCount).x
  const stepsPerEpoch = Math.ceil(train.count / options.batch)
  const evalSteps = new Set<number>()
  for (let e = 0; e < options.epochs; e++) {
    for (let k = 1; k <= options.evalsPerEpoch; k++) evalSteps.add(e * stepsPerEpoch + Math.max(1, Math.round((k * stepsPerEpoch) / options.evalsPerEpoch)))
  }
  const runs: StudyRun[] = []
  for (const name of options.variants) {
    const variant = studyVariant(name)
    for (let seed = 1; seed <= options.seeds; seed++) {
      const model = lenet5With(variant)
      const params = initParameters(model, { seed })
      const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: options.lr, momentum: options.momentum }), seed })
      const losses: number[] = []
      const evals: StudyEval[] = []
      const record = (): void => {
        const t = evaluateTest(trainer, test)
        evals.push({ step: losses.length, testLoss: t.loss, testAccuracy: t.accuracy, routing: poolingRouting(model, params, probe) })
      }
      for (let epoch = 0; epoch < options.epochs; epoch++) {
        for (const b of batches(train, { batchSize: options.batch, order: epochOrder(train.count, seed, epoch) })) {
          losses.push(trainer.step(b.x, b.labels))
          if (evalSteps.has(losses.length)) record()
        }
      }
      const tail = losses.slice(-50)
      const last = evals[evals.length - 1]
      const run: StudyRun = {
        variant: name,
        seed,
        losses,
        evals,
        finalTrainLoss: tail.reduce((a, b) => a + b, 0) / tail.length,
        testLoss: last.testLoss,
        testAccuracy: last.testAccuracy,
      }
      runs.push(run)
      log(`${name} seed ${seed}: ${losses.length} steps, final train loss ${run.finalTrainLoss.toFixed(4)}, test loss ${run.testLoss.toFixed(4)}, accuracy ${(100 * run.testAccuracy).toFixed(2)}%`)
    }
  }
  return { options, trainCount: train.count, testCount: test.count, runs }
}

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042]

/** Mean and the half-width of its 95% confidence interval (Student's t; 0 for one value). */
export interface MeanCI {
  readonly mean: number
  readonly ci95: number
  readonly n: number
}

/**
 * Mean ± 95% CI half-width of a sample (t quantile for n - 1 degrees of freedom, 1.96 beyond 30).
 *
 * @example
 * meanCI([1, 2, 3]) // { mean: 2, ci95: 2.484, n: 3 } (4.303 · 1 / √3)
 */
export function meanCI(xs: readonly number[]): MeanCI {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  if (n < 2) return { mean, ci95: 0, n }
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)
  const t = n - 1 <= T975.length ? T975[n - 2] : 1.96
  return { mean, ci95: (t * Math.sqrt(variance)) / Math.sqrt(n), n }
}

/** One variant's summary over its seeds. */
export interface VariantSummary {
  readonly variant: string
  readonly description: string
  readonly finalTrainLoss: MeanCI
  readonly testLoss: MeanCI
  readonly testAccuracy: MeanCI
  /** Per pooling layer, at the end of training, averaged over seeds. */
  readonly routing: { readonly layer: string; readonly tiedFraction: MeanCI; readonly tiedZeroFraction: MeanCI; readonly massByPosition: number[]; readonly winsByPosition?: number[] }[]
}

const average = (rows: readonly number[][]): number[] => rows[0].map((_, i) => rows.reduce((a, r) => a + r[i], 0) / rows.length)

/** Mean ± 95% CI per variant, in the order the variants were given. */
export function summarizeStudy(result: StudyResult): VariantSummary[] {
  return result.options.variants.map((name) => {
    const runs = result.runs.filter((r) => r.variant === name)
    const finals = runs.map((r) => r.evals[r.evals.length - 1].routing)
    return {
      variant: name,
      description: studyVariant(name).description,
      finalTrainLoss: meanCI(runs.map((r) => r.finalTrainLoss)),
      testLoss: meanCI(runs.map((r) => r.testLoss)),
      testAccuracy: meanCI(runs.map((r) => r.testAccuracy)),
      routing: finals[0].map((_, l) => {
        const wins = finals.map((f) => f[l].winsByPosition)
        return {
          layer: `${finals[0][l].op} #${l + 1}`,
          tiedFraction: meanCI(finals.map((f) => f[l].tiedFraction)),
          tiedZeroFraction: meanCI(finals.map((f) => f[l].tiedZeroFraction)),
          massByPosition: average(finals.map((f) => f[l].massByPosition)),
          ...(wins.every((w) => w !== undefined) ? { winsByPosition: average(wins as number[][]) } : {}),
        }
      }),
    }
  })
}

const pct = (v: number, d = 1): string => `${(100 * v).toFixed(d)}%`
const ci = (m: MeanCI, f: (v: number) => string): string => `${f(m.mean)} ± ${f(m.ci95)}`

/**
 * The Markdown report of a study: the command and versions that produced it, a table of
 * mean ± 95% CI per variant, and the routing table at the end of training.
 */
export function studyReportMarkdown(result: StudyResult, meta: { readonly command: string; readonly versions: string; readonly plots?: readonly string[] }): string {
  const s = summarizeStudy(result)
  const o = result.options
  const lines = [
    `# Pooling study: ${o.variants.join(", ")}`,
    "",
    "Reproduce (bit for bit; one thread):",
    "",
    "```",
    meta.command,
    "```",
    "",
    `${meta.versions}. LeNet-5 on ${result.trainCount} MNIST training images x ${o.epochs} epoch(s), batch ${o.batch}, SGD lr ${o.lr} momentum ${o.momentum}, float32; seeds 1..${o.seeds} (initialisation, data order, op randomness); tested on ${result.testCount} test images; routing measured on the first ${Math.min(o.probe, result.testCount)} test images after training. Intervals: mean ± 95% CI half-width (Student's t over ${o.seeds} seed(s)).`,
    "",
    "| variant | runs | final train loss | test loss | test accuracy |",
    "|---|---|---|---|---|",
    ...s.map((v) => `| ${v.variant} | ${v.testAccuracy.n} | ${ci(v.finalTrainLoss, (x) => x.toFixed(4))} | ${ci(v.testLoss, (x) => x.toFixed(4))} | ${ci(v.testAccuracy, (x) => pct(x, 2))} |`),
    "",
    "Routing at the end of training, per pooling layer: windows with a tied maximum (tied because ReLU zeroed the window), the share of an all-ones upstream's gradient each window position receives (top-left, top-right, bottom-left, bottom-right), and for max pooling the share of windows whose argmax is at each position.",
    "",
    "| variant | layer | tied | tied at 0 | gradient mass by position | argmax by position |",
    "|---|---|---|---|---|---|",
    ...s.flatMap((v) =>
      v.routing.map(
        (r) =>
          `| ${v.variant} | ${r.layer} | ${ci(r.tiedFraction, (x) => pct(x))} | ${ci(r.tiedZeroFraction, (x) => pct(x))} | ${r.massByPosition.map((x) => pct(x)).join(" / ")} | ${r.winsByPosition ? r.winsByPosition.map((x) => pct(x)).join(" / ") : "—"} |`,
      ),
    ),
    "",
    "Variants:",
    "",
    ...s.map((v) => `- \`${v.variant}\`: ${v.description}`),
    ...(meta.plots && meta.plots.length > 0 ? ["", "Plots: " + meta.plots.map((p) => `[${p}](${p})`).join(", ") + "."] : []),
    "",
  ]
  return lines.join("\n")
}
