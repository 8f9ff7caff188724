/**
 * What a training checkpoint holds, on top of the generic container of checkpoint.ts:
 *
 * - tensors `param/<name>`: every parameter (`param/conv1.weight`, ...)
 * - tensors `optim/<buffer>/<name>`: the optimizer's state buffers
 *   (`optim/momentum_buffer/fc1.weight`, `optim/exp_avg/fc1.weight`, ...)
 * - meta: { kind, version (2), epoch (completed), seed, model {name, inputShape, numClasses},
 *   config (every hyper-parameter), optimizer (the JSON part of its state: type, step
 *   counts, every group's hyper-parameters), scheduler (the schedule's state), rngState
 *   (the trainer's PRNG), metrics (one entry per epoch), lossCurve }
 *
 * Everything needed to continue a run so that it ends bit-identical to an uninterrupted
 * one: parameters and optimizer buffers are stored as raw bytes, the shuffle order is a
 * function of (seed, epoch), the lr and momentum are in the optimizer's state and the
 * schedule's position in its own. Version 1 files (SGD only, buffers as
 * `momentum/<name>`, closed-form schedules) still load.
 */
import { FormatError } from "../errors.ts"
import type { OptimizerState } from "../optim/optimizer.ts"
import type { SchedulerState } from "../optim/lr-scheduler.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { checkTensorsMatch, loadCheckpoint, saveCheckpoint, type JsonValue } from "./checkpoint.ts"
import type { ModelName, TrainConfig } from "./train-config.ts"
import { OPTIMIZER_NAMES, SCHEDULES, scheduleFactor, type OptimizerName, type Schedule } from "./train-options.ts"

const KIND = "dagrad-classifier-training"
const VERSION = 2

/** One line of metrics.jsonl. */
export type EpochMetrics = {
  readonly epoch: number
  readonly trainLoss: number
  readonly trainAccuracy: number
  readonly testLoss: number
  readonly testAccuracy: number
  /** Learning rate at the end of the epoch. */
  readonly lr: number
  readonly seconds: number
  readonly imagesPerSecond: number
}

/** The model a checkpoint was trained with (enough to rebuild it). */
export type ModelConfig = { readonly name: ModelName; readonly inputShape: readonly number[]; readonly numClasses: number }

/** Everything a resumed run needs: config, model, completed epochs, parameters, optimizer and RNG state, metrics and the loss curve. */
export interface TrainingState {
  readonly config: TrainConfig
  readonly model: ModelConfig
  /** Completed epochs. */
  readonly epoch: number
  readonly params: ReadonlyMap<string, Tensor>
  readonly optimizer: OptimizerState
  readonly scheduler: SchedulerState
  readonly rngState: readonly number[]
  readonly metrics: readonly EpochMetrics[]
  readonly lossCurve: readonly (readonly [number, number])[]
}

/** Saves a training state atomically (see checkpoint.ts). */
export function saveTrainingCheckpoint(path: string, state: TrainingState): void {
  const tensors = new Map<string, Tensor>()
  for (const [name, t] of state.params) tensors.set(`param/${name}`, t)
  for (const [key, t] of state.optimizer.tensors) tensors.set(`optim/${key}`, t)
  const meta = {
    kind: KIND,
    version: VERSION,
    epoch: state.epoch,
    seed: state.config.seed,
    model: state.model,
    config: state.config,
    optimizer: state.optimizer.meta,
    scheduler: state.scheduler,
    rngState: [...state.rngState],
    metrics: state.metrics,
    lossCurve: state.lossCurve,
  } satisfies JsonValue
  saveCheckpoint(path, { tensors, meta })
}

/**
 * Loads and validates a training checkpoint. With `into` (a freshly initialised parameter
 * store of the same model), checks that every parameter is there with its shape and dtype
 * and copies the saved values into the store's tensors. `stepsPerEpoch` places a version-1
 * checkpoint's closed-form schedule (whose position was implied by the epoch).
 */
export function loadTrainingCheckpoint(path: string, into?: Map<string, Tensor>, stepsPerEpoch = 1): TrainingState {
  const ck = loadCheckpoint(path)
  const fail = (found: string, expected: string): never => {
    throw new FormatError(`${path}: found ${found}, expected ${expected}`)
  }
  const meta = ck.meta
  if (!isObject(meta) || meta.kind !== KIND) fail(`metadata of kind ${JSON.stringify(isObject(meta) ? meta.kind : meta)}`, `a "${KIND}" checkpoint`)
  const m = meta as { [key: string]: JsonValue }
  if (m.version !== VERSION && m.version !== 1) fail(`training checkpoint version ${JSON.stringify(m.version)}`, `version 1 or ${VERSION}`)
  const legacy = m.version === 1
  const epoch = m.epoch
  if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0) return fail(`epoch ${JSON.stringify(epoch)}`, "a completed-epoch count >= 0")
  const config = checkConfig(legacy && isObject(m.config) ? { ...LEGACY_CONFIG, ...m.config } : m.config, fail)
  const model = checkModel(m.model, fail)
  const optimizer = m.optimizer
  if (!isObject(optimizer) || typeof optimizer.type !== "string") return fail(`optimizer state ${JSON.stringify(optimizer)}`, 'an optimizer state ({ type: "sgd", ... })')
  if (legacy && optimizer.type !== "sgd") fail(`optimizer type ${JSON.stringify(optimizer.type)} in a version-1 file`, '"sgd"')
  const scheduler = legacy ? legacyScheduler(config, epoch, stepsPerEpoch) : m.scheduler
  if (!isObject(scheduler) || typeof scheduler.type !== "string") fail(`scheduler state ${JSON.stringify(scheduler)}`, "a schedule state ({ type, lastEpoch, ... })")
  const rngState = m.rngState
  if (!Array.isArray(rngState) || rngState.length !== 4 || !rngState.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)) {
    fail(`rngState ${JSON.stringify(rngState)}`, "four uint32 values")
  }
  const metrics = m.metrics
  if (!Array.isArray(metrics) || metrics.length !== epoch) fail(`${Array.isArray(metrics) ? metrics.length : "no"} metrics entries`, `one per completed epoch (${epoch})`)
  const lossCurve = m.lossCurve
  if (!Array.isArray(lossCurve)) fail("no lossCurve", "an array of [x, y] points")

  const params = new Map<string, Tensor>()
  const optimTensors = new Map<string, Tensor>()
  for (const [key, t] of ck.tensors) {
    if (key.startsWith("param/")) params.set(key.slice(6), t)
    else if (legacy && key.startsWith("momentum/") && t.dtype !== "int32") optimTensors.set(`momentum_buffer/${key.slice(9)}`, t)
    else if (!legacy && key.startsWith("optim/") && t.dtype !== "int32") optimTensors.set(key.slice(6), t)
    else fail(`a tensor named '${key}'`, legacy ? "only param/<name> and momentum/<name> float tensors" : "only param/<name> and optim/<buffer>/<name> float tensors")
  }
  if (into !== undefined) {
    const expected = new Map([...into].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype }] as const))
    checkTensorsMatch(params, expected, path)
    for (const [name, t] of params) into.get(name)!.data.set(t.data)
  }
  return {
    config,
    model,
    epoch,
    params: into ?? params,
    optimizer: {
      meta: legacy ? legacySgdState(optimizer, optimTensors, (scheduler as { lastLr: number[] }).lastLr[0], fail) : (optimizer as OptimizerState["meta"]),
      tensors: optimTensors,
    },
    scheduler: scheduler as SchedulerState,
    rngState: rngState as number[],
    metrics: metrics as unknown as EpochMetrics[],
    lossCurve: lossCurve as unknown as [number, number][],
  }
}


/** The model names a checkpoint may name (train.ts ModelName). */
const MODEL_NAMES: readonly string[] = ["lenet5", "mlp", "resnet8"]
/**
 * A version-1 SGD state in the Optimizer state form. Version 1 saved the lr of the last
 * step taken; the optimizer now holds the lr of the next step (`nextLr`, the schedule's).
 */
function legacySgdState(
  raw: { readonly [key: string]: JsonValue },
  tensors: ReadonlyMap<string, Tensor>,
  nextLr: number,
  fail: (found: string, expected: string) => never,
): OptimizerState["meta"] {
  const num = (key: string): number => {
    const v = raw[key]
    return typeof v === "number" ? v : fail(`optimizer.${key} = ${JSON.stringify(v)}`, "a number")
  }
  if (typeof raw.nesterov !== "boolean") fail(`optimizer.nesterov = ${JSON.stringify(raw.nesterov)}`, "true or false")
  const step = num("step")
  const paramSteps: { [name: string]: number } = {}
  for (const key of tensors.keys()) paramSteps[key.slice(key.indexOf("/") + 1)] = step
  num("lr")
  const group = { lr: nextLr, momentum: num("momentum"), dampening: num("dampening"), weightDecay: num("weightDecay"), nesterov: raw.nesterov === true }
  return { type: "sgd", step, paramSteps, groups: [group] }
}

/** The settings version-1 files did not have: SGD, schedules stepped per step, no clipping. */
const LEGACY_CONFIG = { optimizer: "sgd", scheduleInterval: "step", warmupEpochs: 1, clipNorm: null, clipValue: null } as const

/** A version-1 run's closed-form schedule (LambdaLR) placed after `epoch` epochs. */
function legacyScheduler(config: TrainConfig, epoch: number, stepsPerEpoch: number): SchedulerState {
  const k = epoch * stepsPerEpoch
  return { type: "lambda_lr", lastEpoch: k, stepCount: k + 1, baseLrs: [config.lr], lastLr: [config.lr * scheduleFactor(config, k, stepsPerEpoch)] }
}

function isObject(v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

const CONFIG_FIELDS: { readonly [K in keyof TrainConfig]: "number" | "string" | "number?" | "string?" } = {
  model: "string",
  epochs: "number",
  batchSize: "number",
  optimizer: "string",
  lr: "number",
  momentum: "number",
  weightDecay: "number",
  schedule: "string",
  scheduleInterval: "string",
  warmupEpochs: "number",
  clipNorm: "number?",
  clipValue: "number?",
  seed: "number",
  dataDir: "string?",
  limit: "number?",
  testLimit: "number?",
  evalBatchSize: "number",
}

function checkConfig(raw: JsonValue | undefined, fail: (found: string, expected: string) => never): TrainConfig {
  if (!isObject(raw)) return fail(`config ${JSON.stringify(raw)}`, "the training config object")
  for (const [key, kind] of Object.entries(CONFIG_FIELDS)) {
    const v = raw[key]
    const base = kind.replace("?", "")
    if (!(typeof v === base || (kind.endsWith("?") && v === null))) fail(`config.${key} = ${JSON.stringify(v)}`, `a ${kind.endsWith("?") ? `${base} or null` : base}`)
  }
  if (!MODEL_NAMES.includes(raw.model as string)) fail(`config.model = ${JSON.stringify(raw.model)}`, MODEL_NAMES.join(", "))
  if (!SCHEDULES.includes(raw.schedule as Schedule)) fail(`config.schedule = ${JSON.stringify(raw.schedule)}`, SCHEDULES.join(", "))
  if (!OPTIMIZER_NAMES.includes(raw.optimizer as OptimizerName)) fail(`config.optimizer = ${JSON.stringify(raw.optimizer)}`, OPTIMIZER_NAMES.join(", "))
  if (raw.scheduleInterval !== "step" && raw.scheduleInterval !== "epoch") fail(`config.scheduleInterval = ${JSON.stringify(raw.scheduleInterval)}`, "step or epoch")
  return raw as unknown as TrainConfig
}

function checkModel(raw: JsonValue | undefined, fail: (found: string, expected: string) => never): ModelConfig {
  if (
    !isObject(raw) ||
    !MODEL_NAMES.includes(raw.name as string) ||
    !Array.isArray(raw.inputShape) ||
    raw.inputShape.length !== 3 ||
    typeof raw.numClasses !== "number"
  ) {
    return fail(`model ${JSON.stringify(raw)}`, `{ name: ${MODEL_NAMES.join("|")}, inputShape: [c, h, w], numClasses }`)
  }
  return raw as unknown as ModelConfig
}
