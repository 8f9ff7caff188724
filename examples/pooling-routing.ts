/**
 * Where does max pooling send the gradient? Trains LeNet-5 briefly on MNIST, then shows
 * for one test digit how many windows each input element of both pooling layers won
 * (= how many upstream gradient values it receives under PyTorch's tie rule).
 *
 *   npx tsx examples/pooling-routing.ts [--steps 300] [--batch 64] [--digit 0] [--out runs/pooling-routing]
 *
 * Prints the digit, the win counts of pool1 and pool2 summed over channels (ASCII), and a
 * per-layer table (windows, tied windows, tied at zero, elements never chosen). Writes SVG
 * heatmaps to the output directory: digit.svg, pool1-wins.svg / pool2-wins.svg (all
 * channels tiled), pool1-wins-sum.svg / pool2-wins-sum.svg.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { SGD, Trainer, buildModelGraph, initParameters, lenet5, type Tensor } from "dagrad"
import { batches, epochOrder, loadMnist, makeBatch, takeExamples } from "dagrad/node"
import { asciiHeatmap, heatmapOf, heatmapSvg, inspectRouting, routingSummary, tileHeatmaps, type Heatmap, type RoutingMap } from "dagrad/research"

export interface RoutingExampleOptions {
  readonly steps: number
  readonly batch: number
  readonly digit: number
  readonly out: string
  readonly seed: number
}

export interface RoutingExampleResult {
  readonly losses: number[]
  readonly label: number
  readonly maps: RoutingMap[]
  readonly files: string[]
}

export function parseArgs(argv: readonly string[]): RoutingExampleOptions {
  const get = (name: string, fallback: string): string => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback
  }
  const int = (name: string, fallback: number): number => {
    const v = Number(get(name, String(fallback)))
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`--${name} ${get(name, "")} (expected a non-negative integer)`)
    return v
  }
  return { steps: int("steps", 300), batch: Math.max(1, int("batch", 64)), digit: int("digit", 0), out: get("out", "runs/pooling-routing"), seed: int("seed", 1) }
}

/** Sum over channels of sample 0: one map aligned with the layer's input grid. */
function channelSum(t: Tensor): Heatmap {
  const maps = Array.from({ length: t.shape[1] }, (_, c) => heatmapOf(t, [0, c]))
  const values = new Float64Array(maps[0].values.length)
  for (const m of maps) m.values.forEach((v, i) => (values[i] += v))
  return { width: maps[0].width, height: maps[0].height, values }
}

export function main(options: RoutingExampleOptions, log: (s: string) => void = console.log): RoutingExampleResult {
  const model = lenet5()
  const params = initParameters(model, { seed: options.seed })
  const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) })
  const train = takeExamples(loadMnist("train"), Math.max(1, options.steps * options.batch))
  const losses: number[] = []
  const started = performance.now()
  for (const b of batches(train, { batchSize: options.batch, order: epochOrder(train.count, options.seed, 0), dropLast: true })) {
    if (losses.length >= options.steps) break
    losses.push(trainer.step(b.x, b.labels))
    if (losses.length % 50 === 0) log(`step ${losses.length}: loss ${losses[losses.length - 1].toFixed(4)}`)
  }
  log(`trained ${losses.length} steps of batch ${options.batch} in ${((performance.now() - started) / 1000).toFixed(1)} s`)

  const test = loadMnist("test")
  const digit = makeBatch(test, [options.digit], 0, 1)
  const label = digit.labels.data[0]
  // An inference graph of batch 1; inspectRouting fetches each pool's argmax itself.
  const g = buildModelGraph(model, { batchSize: 1 })
  const maps = inspectRouting(g.builder.graph, { x: digit.x }, params)
  const names = maps.map((_, k) => `pool${k + 1}`)

  log(`\ntest digit #${options.digit} (label ${label}):`)
  log(asciiHeatmap(heatmapOf(digit.x, [0, 0])))
  maps.forEach((m, k) => {
    log(`\n${names[k]} (${m.node}, input ${m.inputShape.join("x")}): windows won per input element, summed over ${m.inputShape[1]} channels`)
    log(asciiHeatmap(channelSum(m.winCounts)))
  })
  log("\nlayer   windows  tied  tied-at-0  never-chosen  max-wins")
  maps.forEach((m, k) => {
    const s = routingSummary(m)
    log(`${names[k].padEnd(7)} ${String(m.windows).padStart(7)} ${String(m.tiedWindows).padStart(5)} ${String(m.tiedZeroWindows).padStart(10)} ${`${s.neverChosen}/${s.elements}`.padStart(13)} ${String(s.maxWins).padStart(9)}`)
  })

  mkdirSync(options.out, { recursive: true })
  const files: string[] = []
  const write = (name: string, svg: string): void => {
    const path = join(options.out, name)
    writeFileSync(path, svg)
    files.push(path)
  }
  write("digit.svg", heatmapSvg(heatmapOf(digit.x, [0, 0]), { title: `test digit #${options.digit} (label ${label})`, labels: false, cell: 12 }))
  maps.forEach((m, k) => {
    const channels = Array.from({ length: m.inputShape[1] }, (_, c) => heatmapOf(m.winCounts, [0, c]))
    const cell = m.inputShape[2] > 16 ? 8 : 14
    write(`${names[k]}-wins.svg`, heatmapSvg(tileHeatmaps(channels, m.inputShape[1] > 8 ? 4 : 3), { title: `${names[k]}: windows won per element, one tile per channel`, cell, labels: cell >= 14 }))
    write(`${names[k]}-wins-sum.svg`, heatmapSvg(channelSum(m.winCounts), { title: `${names[k]}: windows won, summed over channels`, cell: 14 }))
  })
  log(`\nwrote ${files.join(", ")}`)
  return { losses, label, maps, files }
}

if (import.meta.url === `file://${process.argv[1]}`) main(parseArgs(process.argv.slice(2)))
