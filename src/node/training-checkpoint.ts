/**
 * What a training checkpoint holds, on top of the generic container of checkpoint.ts:
 *
 * - tensors `param/<name>`: every parameter (`param/conv1.weight`, ...)
 * - tensors `momentum/<name>`: SGD's momentum buffers
 * - meta: { kind, version, epoch (completed), seed, model {name, inputShape, numClasses},
 *   config (every hyper-parameter), optimizer (SGD state without the buffers),
 *   rngState (the trainer's PRNG), metrics (one entry per epoch), lossCurve }
 *
 * Everything needed to continue a run so that it ends bit-identical to an uninterrupted
 * one: parameters and momentum are stored as raw bytes, the shuffle order is a function
 * of (seed, epoch), the learning rate a function of the position in training.
 */
import { FormatError } from "../errors.ts"
import type { SGDState } from "../optim/sgd.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { checkTensorsMatch, loadCheckpoint, saveCheckpoint, type JsonValue } from "./checkpoint.ts"
import type { ModelName, TrainConfig } from "./train.ts"

const KIND = "dagrad-classifier-training"
const VERSION = 1

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
  readonly optimizer: SGDState
  readonly rngState: readonly number[]
  readonly metrics: readonly EpochMetrics[]
  readonly lossCurve: readonly (readonly [number, number])[]
}

/** Saves a training state atomically (see checkpoint.ts). */
export function saveTrainingCheckpoint(path: string, state: TrainingState): void {
  const tensors = new Map<string, Tensor>()
  for (const [name, t] of state.params) tensors.set(`param/${name}`, t)
  const { buffers, ...optimizer } = state.optimizer
  for (const [name, b] of Object.entries(buffers)) {
    const data = b.dtype === "float32" ? Float32Array.from(b.data) : Float64Array.from(b.data)
    tensors.set(`momentum/${name}`, { shape: [...b.shape], dtype: b.dtype, data })
  }
  const meta = {
    kind: KIND,
    version: VERSION,
    epoch: state.epoch,
    seed: state.config.seed,
    model: state.model,
    config: state.config,
    optimizer,
    rngState: [...state.rngState],
    metrics: state.metrics,
    lossCurve: state.lossCurve,
  } satisfies JsonValue
  saveCheckpoint(path, { tensors, meta })
}

/**
 * Loads and validates a training checkpoint. With `into` (a freshly initialised parameter
 * store of the same model), checks that every parameter is there with its shape and dtype
 * and copies the saved values into the store's tensors.
 */
export function loadTrainingCheckpoint(path: string, into?: Map<string, Tensor>): TrainingState {
  const ck = loadCheckpoint(path)
  const fail = (found: string, expected: string): never => {
    throw new FormatError(`${path}: found ${found}, expected ${expected}`)
  }
  const meta = ck.meta
  if (!isObject(meta) || meta.kind !== KIND) fail(`metadata of kind ${JSON.stringify(isObject(meta) ? meta.kind : meta)}`, `a "${KIND}" checkpoint`)
  const m = meta as { [key: string]: JsonValue }
  if (m.version !== VERSION) fail(`training checkpoint version ${JSON.stringify(m.version)}`, `version ${VERSION}`)
  const epoch = m.epoch
  if (typeof epoch !== "number" || !Number.isInteger(epoch) || epoch < 0) return fail(`epoch ${JSON.stringify(epoch)}`, "a completed-epoch count >= 0")
  const config = checkConfig(m.config, fail)
  const model = checkModel(m.model, fail)
  const optimizer = m.optimizer
  if (!isObject(optimizer) || optimizer.type !== "sgd") return fail(`optimizer state ${JSON.stringify(optimizer)}`, 'an SGD state ({ type: "sgd", ... })')
  const rngState = m.rngState
  if (!Array.isArray(rngState) || rngState.length !== 4 || !rngState.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)) {
    fail(`rngState ${JSON.stringify(rngState)}`, "four uint32 values")
  }
  const metrics = m.metrics
  if (!Array.isArray(metrics) || metrics.length !== epoch) fail(`${Array.isArray(metrics) ? metrics.length : "no"} metrics entries`, `one per completed epoch (${epoch})`)
  const lossCurve = m.lossCurve
  if (!Array.isArray(lossCurve)) fail("no lossCurve", "an array of [x, y] points")

  const params = new Map<string, Tensor>()
  const buffers: { [name: string]: { shape: readonly number[]; dtype: "float32" | "float64"; data: number[] } } = {}
  for (const [key, t] of ck.tensors) {
    if (key.startsWith("param/")) params.set(key.slice(6), t)
    else if (key.startsWith("momentum/") && t.dtype !== "int32") buffers[key.slice(9)] = { shape: t.shape, dtype: t.dtype, data: Array.from(t.data) }
    else fail(`a tensor named '${key}'`, "only param/<name> and momentum/<name> float tensors")
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
    optimizer: sgdState(optimizer, buffers, fail),
    rngState: rngState as number[],
    metrics: metrics as unknown as EpochMetrics[],
    lossCurve: lossCurve as unknown as [number, number][],
  }
}

function sgdState(raw: { readonly [key: string]: JsonValue }, buffers: SGDState["buffers"], fail: (found: string, expected: string) => never): SGDState {
  const num = (key: string): number => {
    const v = raw[key]
    return typeof v === "number" ? v : fail(`optimizer.${key} = ${JSON.stringify(v)}`, "a number")
  }
  if (typeof raw.nesterov !== "boolean") fail(`optimizer.nesterov = ${JSON.stringify(raw.nesterov)}`, "true or false")
  return {
    type: "sgd",
    step: num("step"),
    lr: num("lr"),
    momentum: num("momentum"),
    dampening: num("dampening"),
    weightDecay: num("weightDecay"),
    nesterov: raw.nesterov === true,
    buffers,
  }
}

function isObject(v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

const CONFIG_FIELDS: { readonly [K in keyof TrainConfig]: "number" | "string" | "number?" | "string?" } = {
  model: "string",
  epochs: "number",
  batchSize: "number",
  lr: "number",
  momentum: "number",
  weightDecay: "number",
  schedule: "string",
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
  if (raw.model !== "lenet5" && raw.model !== "mlp") fail(`config.model = ${JSON.stringify(raw.model)}`, '"lenet5" or "mlp"')
  if (!["constant", "cosine", "step"].includes(raw.schedule as string)) fail(`config.schedule = ${JSON.stringify(raw.schedule)}`, "constant, cosine or step")
  return raw as unknown as TrainConfig
}

function checkModel(raw: JsonValue | undefined, fail: (found: string, expected: string) => never): ModelConfig {
  if (
    !isObject(raw) ||
    (raw.name !== "lenet5" && raw.name !== "mlp") ||
    !Array.isArray(raw.inputShape) ||
    raw.inputShape.length !== 3 ||
    typeof raw.numClasses !== "number"
  ) {
    return fail(`model ${JSON.stringify(raw)}`, "{ name: lenet5|mlp, inputShape: [c, h, w], numClasses }")
  }
  return raw as unknown as ModelConfig
}
