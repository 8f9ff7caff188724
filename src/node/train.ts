/**
 * Training an MNIST-shaped classifier end to end: data, model, optimizer (SGD, Adam, AdamW,
 * RMSprop, Adagrad), LR schedule, gradient clipping, per-epoch evaluation,
 * checkpoints after every epoch (resumable bit for bit), metrics.jsonl and an SVG curve.
 * The CLI (`npm run train`) is a thin layer of flags over {@link trainRun}.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { epochOrder, batches, batchCount, takeExamples, type ImageDataset } from "../data/batches.ts"
import { initParameters, type Module } from "../nn/module.ts"
import { lenet5, mlp } from "../nn/models.ts"
import { resnet8 } from "../nn/resnet.ts"
import { Trainer, countCorrect } from "../nn/trainer.ts"
import { parallelBackend } from "../exec/parallel.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import { Random } from "../tensor/random.ts"
import { loadTrainingCheckpoint, saveTrainingCheckpoint, type EpochMetrics } from "./training-checkpoint.ts"
import { loadMnist } from "./mnist.ts"
import { lineChartSvg } from "./plot.ts"
import { EpochProgress, formatDuration, type ProgressStream } from "./progress.ts"
import { writeFileAtomic } from "./checkpoint.ts"
import { evaluateDataset, formatConfusion, type Evaluation } from "./evaluate.ts"

export { DEFAULT_CONFIG, type ModelName, type TrainConfig } from "./train-config.ts"
import { DEFAULT_CONFIG, type ModelName, type TrainConfig } from "./train-config.ts"
export {
  buildOptimizer,
  buildScheduler,
  learningRate,
  OPTIMIZER_DEFAULTS,
  scheduleFactor,
} from "./train-options.ts"
export { OPTIMIZER_NAMES, SCHEDULES, type OptimizerName, type Schedule, type ScheduleInterval } from "./train-config.ts"
import { buildOptimizer, buildScheduler } from "./train-options.ts"

/** A fresh model of the named kind for images of `[channels, size, size]`. */
export function buildModel(name: ModelName, inputShape: readonly number[] = [1, 28, 28], numClasses = 10): Module {
  if (name === "lenet5") return lenet5({ inChannels: inputShape[0], imageSize: inputShape[1], numClasses })
  if (name === "resnet8") return resnet8({ inChannels: inputShape[0], imageSize: inputShape[1], numClasses })
  return mlp({ inputShape, hidden: [256], numClasses })
}

/** The train and test sets a config names (limits applied). */
export function loadData(config: TrainConfig): { train: ImageDataset; test: ImageDataset } {
  const dir = config.dataDir ?? undefined
  return {
    train: takeExamples(loadMnist("train", dir), config.limit ?? undefined),
    test: takeExamples(loadMnist("test", dir), config.testLimit ?? undefined),
  }
}

/** Options of {@link trainRun}: where outputs go, resuming, and (for tests) early stop and preloaded data. */
export interface TrainRunOptions {
  /** Output directory (checkpoint.dgck, metrics.jsonl, curves.svg). */
  readonly out: string
  /** Continue from `out/checkpoint.dgck`. */
  readonly resume?: boolean
  /** Stop after this many epochs in THIS process (tests simulate an interruption). */
  readonly stopAfterEpochs?: number
  /** Where progress and summaries go (default process.stdout). */
  readonly stream?: ProgressStream
  /** Force the live bar on/off (default: stream.isTTY). */
  readonly tty?: boolean
  /** Preloaded data (tests); default loaded from the config. */
  readonly data?: { readonly train: ImageDataset; readonly test: ImageDataset }
  /** Stop at the first NaN or infinity with an AnomalyError naming the node (slower). */
  readonly detectAnomaly?: boolean
}

/** What {@link trainRun} returns: the config, the trainer, per-epoch metrics and the final test evaluation. */
export interface TrainRunResult {
  readonly config: TrainConfig
  readonly trainer: Trainer
  readonly metrics: readonly EpochMetrics[]
  /** Evaluation of the final model on the test set. */
  readonly final: Evaluation
  readonly checkpointPath: string
  /** Training time of the epochs run in this process, and their images per second. */
  readonly trainSeconds: number
  readonly imagesPerSecond: number
}

/** The checkpoint file of an output directory. */
export const checkpointPathIn = (out: string): string => join(out, "checkpoint.dgck")

/**
 * Trains (or resumes) a run; writes a checkpoint, metrics.jsonl and curves.svg after every
 * epoch. Returns the final metrics; the caller prints the summary.
 *
 * @example
 * const r = trainRun({ ...DEFAULT_CONFIG, model: "mlp", epochs: 1, limit: 2000 }, { out: "runs/mlp" })
 * r.final.accuracy // e.g. 0.9
 */
export function trainRun(configIn: TrainConfig, options: TrainRunOptions): TrainRunResult {
  const stream = options.stream ?? process.stdout
  const say = (line: string): void => void stream.write(line + "\n")
  mkdirSync(options.out, { recursive: true })
  const checkpointPath = checkpointPathIn(options.out)

  let config = configIn
  const data = options.data ?? loadData(config)
  const inputShape = [data.train.channels, data.train.height, data.train.width]
  const model = buildModel(config.model, inputShape, data.train.numClasses)
  const random = new Random(config.seed)
  const params = initParameters(model, { random })
  // With a worker pool, kernels split work only over shared memory: put the parameters
  // and every batch there (same values, so results are unchanged).
  const backend = parallelBackend()
  const allocate = backend === undefined ? undefined : (dtype: FloatDType, size: number) => backend.allocShared(dtype, size) as Float32Array | Float64Array
  if (allocate !== undefined) {
    for (const [name, t] of params) {
      const data = allocate(t.dtype === "float64" ? "float64" : "float32", t.data.length)
      data.set(t.data)
      params.set(name, { ...t, data })
    }
  }
  const stepsPerEpoch = batchCount(data.train.count, config.batchSize)
  let saved: ReturnType<typeof loadTrainingCheckpoint> | undefined
  if (options.resume) {
    saved = loadTrainingCheckpoint(checkpointPath, params, stepsPerEpoch)
    config = { ...saved.config, epochs: configIn.epochs }
  }
  const optimizer = buildOptimizer(config)
  const scheduler = buildScheduler(config, optimizer, stepsPerEpoch)
  const trainer = new Trainer({
    model,
    params,
    optimizer,
    scheduler: config.scheduleInterval === "step" ? scheduler : undefined,
    clipGradNorm: config.clipNorm ?? undefined,
    clipGradValue: config.clipValue ?? undefined,
    fetchLogits: true,
    seed: config.seed,
    detectAnomaly: options.detectAnomaly,
  })
  let metrics: EpochMetrics[] = []
  let lossCurve: [number, number][] = []
  let startEpoch = 0
  if (saved !== undefined) {
    // The optimizer's state holds the current lr (and momentum); the schedule's its position.
    optimizer.loadStateDict(saved.optimizer)
    scheduler.loadStateDict(saved.scheduler)
    trainer.randomState = saved.rngState
    metrics = [...saved.metrics]
    lossCurve = saved.lossCurve.map(([x, y]) => [x, y])
    startEpoch = saved.epoch
    say(`resuming ${checkpointPath} after epoch ${startEpoch} of ${config.epochs}`)
  }

  say(`data: ${data.train.count} training and ${data.test.count} test images of ${inputShape.join("x")}, ${stepsPerEpoch} steps per epoch`)
  const lastEpoch = Math.min(config.epochs, startEpoch + (options.stopAfterEpochs ?? Infinity))
  let trainSeconds = 0
  let imagesSeen = 0
  for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
    const label = `epoch ${epoch + 1}/${config.epochs}`
    const progress = new EpochProgress({ total: stepsPerEpoch, label, stream, tty: options.tty })
    const order = epochOrder(data.train.count, config.seed, epoch)
    const started = performance.now()
    let lossSum = 0
    let correct = 0
    let seen = 0
    let windowLoss = 0
    let windowCount = 0
    const curveEvery = Math.max(1, Math.floor(stepsPerEpoch / 20))
    let step = 0
    let lastLr = optimizer.lr
    for (const batch of batches(data.train, { batchSize: config.batchSize, order, allocate })) {
      lastLr = optimizer.lr
      const loss = trainer.step(batch.x, batch.labels)
      const n = batch.labels.shape[0]
      lossSum += loss * n
      correct += countCorrect(trainer.lastLogits!, batch.labels)
      seen += n
      windowLoss += loss
      windowCount++
      step++
      if (step % curveEvery === 0 || step === stepsPerEpoch) {
        lossCurve.push([round(epoch + step / stepsPerEpoch, 4), round(windowLoss / windowCount, 5)])
        windowLoss = 0
        windowCount = 0
      }
      const seconds = (performance.now() - started) / 1000
      progress.update(step, { loss: lossSum / seen, accuracy: correct / seen, imagesPerSecond: seen / Math.max(seconds, 1e-9) })
    }
    progress.stop()
    if (config.scheduleInterval === "epoch") scheduler.step()
    const seconds = (performance.now() - started) / 1000
    trainSeconds += seconds
    imagesSeen += seen
    const test = evaluateDataset(trainer, data.test, config.evalBatchSize, allocate)
    const m: EpochMetrics = {
      epoch: epoch + 1,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      lr: lastLr,
      seconds: round(seconds, 3),
      imagesPerSecond: round(seen / seconds, 1),
    }
    metrics.push(m)
    say(
      `${label}: train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)} | test loss ${m.testLoss.toFixed(4)} acc ${pct(m.testAccuracy)} | ${formatDuration(seconds)}, ${Math.round(m.imagesPerSecond)} img/s`,
    )
    // The checkpoint first: metrics.jsonl and the plot are derived from it.
    saveTrainingCheckpoint(checkpointPath, {
      config,
      model: { name: config.model, inputShape, numClasses: data.train.numClasses },
      epoch: epoch + 1, params, optimizer: optimizer.stateDict(), scheduler: scheduler.stateDict(), rngState: trainer.randomState, metrics, lossCurve })
    writeFileAtomic(join(options.out, "metrics.jsonl"), new TextEncoder().encode(metrics.map((x) => JSON.stringify(x)).join("\n") + "\n"))
    writeFileAtomic(join(options.out, "curves.svg"), new TextEncoder().encode(curvesSvg(config, metrics, lossCurve)))
  }
  const final = evaluateDataset(trainer, data.test, config.evalBatchSize, allocate)
  return { config, trainer, metrics, final, checkpointPath, trainSeconds, imagesPerSecond: imagesSeen / Math.max(trainSeconds, 1e-9) }
}

/** The loss/accuracy chart of a run. */
export function curvesSvg(config: TrainConfig, metrics: readonly EpochMetrics[], lossCurve: readonly (readonly [number, number])[]): string {
  return lineChartSvg({
    title: `${config.model} on ${config.dataDir ?? "MNIST"}: batch ${config.batchSize}, ${describeOptimizer(config)}`,
    xLabel: "epoch",
    leftLabel: "cross-entropy loss",
    rightLabel: "accuracy (%)",
    series: [
      { name: "train loss", points: lossCurve },
      { name: "test loss", points: metrics.map((m) => [m.epoch, m.testLoss] as const), markers: true },
      { name: "train accuracy", points: metrics.map((m) => [m.epoch, 100 * m.trainAccuracy] as const), axis: "right", markers: true },
      { name: "test accuracy", points: metrics.map((m) => [m.epoch, 100 * m.testAccuracy] as const), axis: "right", markers: true },
    ],
  })
}

/** One line naming the optimizer, its settings, the schedule and clipping of a config. */
export function describeOptimizer(config: TrainConfig): string {
  const momentum = config.optimizer === "sgd" || config.optimizer === "rmsprop" ? `, momentum ${config.momentum}` : ""
  const clip = (config.clipNorm !== null ? `, clip norm ${config.clipNorm}` : "") + (config.clipValue !== null ? `, clip value ${config.clipValue}` : "")
  const per = config.schedule === "constant" ? "" : ` per ${config.scheduleInterval}`
  return `${config.optimizer} lr ${config.lr} (${config.schedule}${per})${momentum}, weight decay ${config.weightDecay}${clip}`
}

/** The end-of-run report; its LAST line is exactly `final test accuracy: NN.NN%`. */
export function finalReport(result: TrainRunResult, wallSeconds: number): string {
  const e = result.final
  return [
    `wall time ${formatDuration(wallSeconds)} (${wallSeconds.toFixed(1)} s), training ${Math.round(result.imagesPerSecond)} images/s`,
    `checkpoint: ${result.checkpointPath}`,
    `confusion matrix on ${e.count} test images (rows: true digit, columns: predicted):`,
    formatConfusion(e.confusion),
    `test loss ${e.loss.toFixed(4)}`,
    `final test accuracy: ${(100 * e.accuracy).toFixed(2)}%`,
  ].join("\n")
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`
const round = (x: number, digits: number): number => Number(x.toFixed(digits))

/** Reads metrics.jsonl back (one JSON object per line). */
export function readMetrics(out: string): EpochMetrics[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as EpochMetrics)
}
