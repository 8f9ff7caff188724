import { gradValues } from "../autodiff/grad.ts"
import { FeedError, ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { compile, type Plan, type RunOptions } from "../exec/plan.ts"
import { crossEntropy, mseLoss } from "../ops/loss/index.ts"
import { AttrError } from "../errors.ts"
import { clipGradNorm, clipGradValue } from "../optim/clip.ts"
import type { LRScheduler } from "../optim/lr-scheduler.ts"
import type { Optimizer } from "../optim/optimizer.ts"
import { allocate, type FloatDType } from "../tensor/dtype.ts"
import { Random } from "../tensor/random.ts"
import type { Shape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { checkTensor } from "../tensor/validate.ts"
import { buildModelGraph, type Module } from "./module.ts"

/**
 * `cross_entropy`: softmax cross-entropy of the logits against int32 class labels [N].
 * `mse`: mean squared error against float targets [N, C]; int32 labels [N] are one-hot
 * encoded first (as `mse_loss(logits, one_hot(labels, C))`).
 */
export type LossKind = "cross_entropy" | "mse"

/** Options of the {@link Trainer} constructor: the model, its parameter store, the optimizer and the loss. */
export interface TrainerOptions {
  readonly model: Module
  /** The parameter store; the trainer updates its tensors in place. */
  readonly params: Map<string, Tensor>
  /** Any {@link Optimizer}: SGD, Adam, AdamW, RMSprop, Adagrad or your own. */
  readonly optimizer: Optimizer
  /**
   * A schedule the trainer steps after every optimizer step. To step a schedule per epoch
   * instead, leave this unset and call `scheduler.step()` after each epoch yourself.
   */
  readonly scheduler?: LRScheduler
  /**
   * Clip the gradients' total norm before each update (clipGradNorm): a max_norm, or
   * `{ maxNorm, normType }` (normType default 2; Infinity for the max norm).
   */
  readonly clipGradNorm?: number | { readonly maxNorm: number; readonly normType?: number }
  /** Clamp every gradient element into [-v, v] before each update (clipGradValue). */
  readonly clipGradValue?: number
  readonly loss?: LossKind
  /** Float dtype of the graphs; must match the store's tensors. Default float32. */
  readonly dtype?: FloatDType
  /** Per-sample input shape; default `model.inputShape`. */
  readonly inputShape?: Shape
  /** Also fetch the logits of each training step (see {@link Trainer.lastLogits}). */
  readonly fetchLogits?: boolean
  /** cross_entropy label smoothing in [0, 1]. Default 0. */
  readonly labelSmoothing?: number
  /** Seed of the stream that feeds dropout masks (default 0): same seed, same run. */
  readonly seed?: number
  /**
   * Anomaly detection in every step and evaluation (RunOptions.detectAnomaly): the first
   * NaN or infinity stops with an AnomalyError naming the node. Default false.
   */
  readonly detectAnomaly?: boolean
}

/** Options of {@link Trainer.step}. */
export interface StepOptions {
  /**
   * Called with the loss and the gradients after backward and before the optimizer
   * updates the store (for logging, checks or clipping in place), before the trainer's own
   * clipping. The tensors are recycled after the step: copy what you keep.
   */
  readonly beforeUpdate?: (grads: ReadonlyMap<string, Tensor>, loss: number) => void
}

/** What {@link Trainer.evaluate} returns for one batch: mean loss and the count of correct predictions. */
export interface EvaluateResult {
  /** Mean loss over the batch. */
  readonly loss: number
  /** Number of samples whose arg-max logit is the label (cross_entropy / int labels). */
  readonly correct: number
  readonly count: number
}

interface TrainPlan {
  readonly plan: Plan
  readonly gradNames: readonly string[]
  readonly bufferNames: readonly string[]
  readonly numClasses: number
  readonly grads: Map<string, Tensor>
  /** Feeds: x, target and one int32 scalar per dropout seed input (reused every step). */
  readonly feeds: { [name: string]: Tensor }
  readonly seeds: readonly Tensor[]
  /** mse with int labels: the one-hot target, reused every step. */
  oneHot: Tensor | undefined
}

interface EvalPlan {
  readonly plan: Plan
  readonly withLoss: boolean
  readonly numClasses: number
  oneHot: Tensor | undefined
}

/**
 * Runs training steps of a model: it builds the training graph (forward, loss, `grad`
 * for every trainable parameter), compiles ONE plan fetching the loss, the gradients and
 * the updated buffers (plus the logits if asked), and on each `step` runs it, applies the
 * optimizer in place, writes back buffers (batch norm running statistics) and hands the
 * gradient buffers back to the plan, so a steady-state step allocates nothing. A plan is
 * compiled and cached per batch size, so the last partial batch of an epoch just works.
 * `evaluate` and `predict` use forward-only inference graphs (no dropout, batch norm on
 * running statistics, no max-pool argmax).
 *
 * @example
 * const model = lenet5()
 * const params = initParameters(model, { seed: 1 })
 * const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) })
 * const loss = trainer.step(xBatch, labelBatch) // xBatch [N, 1, 28, 28] float32, labels [N] int32
 *
 * // any Optimizer, a schedule stepped after every step, and gradient clipping:
 * const adamw = new AdamW({ lr: 3e-3 })
 * new Trainer({ model, params, optimizer: adamw, scheduler: new OneCycleLR(adamw, { max_lr: 3e-3, total_steps: 2814 }), clipGradNorm: 1 })
 */
export class Trainer {
  readonly model: Module
  readonly params: Map<string, Tensor>
  readonly optimizer: Optimizer
  readonly scheduler: LRScheduler | undefined
  readonly loss: LossKind
  readonly dtype: FloatDType
  readonly inputShape: Shape
  readonly fetchLogits: boolean
  readonly labelSmoothing: number
  private readonly trainPlans = new Map<number, TrainPlan>()
  private readonly evalPlans = new Map<string, EvalPlan>()
  private logits: Tensor | undefined
  private logitsPlan: Plan | undefined
  private random: Random
  private readonly clipNorm: { readonly maxNorm: number; readonly normType: number } | undefined
  private readonly clipValue: number | undefined
  private gradNorm: number | undefined
  private readonly runOptions: RunOptions

  constructor(options: TrainerOptions) {
    this.model = options.model
    this.params = options.params
    this.optimizer = options.optimizer
    if (this.optimizer === undefined || typeof this.optimizer.step !== "function") {
      throw new AttrError(`Trainer: optimizer = ${String(this.optimizer)} (expected an Optimizer with a step(params, grads) method)`)
    }
    this.scheduler = options.scheduler
    if (this.scheduler !== undefined && this.scheduler.optimizer !== this.optimizer) {
      throw new AttrError("Trainer: the scheduler drives another optimizer than the trainer's (expected the same optimizer)")
    }
    const c = options.clipGradNorm
    this.clipNorm = c === undefined ? undefined : typeof c === "number" ? { maxNorm: c, normType: 2 } : { maxNorm: c.maxNorm, normType: c.normType ?? 2 }
    if (this.clipNorm !== undefined && !(this.clipNorm.maxNorm >= 0)) throw new AttrError(`Trainer: clipGradNorm max_norm = ${this.clipNorm.maxNorm} (expected >= 0)`)
    this.clipValue = options.clipGradValue
    if (this.clipValue !== undefined && !(this.clipValue >= 0)) throw new AttrError(`Trainer: clipGradValue = ${this.clipValue} (expected >= 0)`)
    this.loss = options.loss ?? "cross_entropy"
    if (this.loss !== "cross_entropy" && this.loss !== "mse") {
      throw new FeedError(`loss '${String(this.loss)}' (expected "cross_entropy" or "mse")`)
    }
    this.dtype = options.dtype ?? "float32"
    const shape = options.inputShape ?? this.model.inputShape
    if (shape === undefined) throw new ShapeError(`model ${this.model.type} has no inputShape (expected options.inputShape, e.g. [1, 28, 28])`)
    this.inputShape = [...shape]
    this.fetchLogits = options.fetchLogits ?? false
    this.labelSmoothing = options.labelSmoothing ?? 0
    this.random = new Random(options.seed ?? 0)
    this.runOptions = { detectAnomaly: options.detectAnomaly === true }
  }

  /** State of the dropout-seed stream, for checkpoints ({@link Random.getState}). */
  get randomState(): number[] {
    return this.random.getState()
  }

  set randomState(state: readonly number[]) {
    this.random = Random.fromState(state)
  }

  /**
   * The logits of the last training step ([N, classes]), when `fetchLogits` is set. Valid
   * until the next step (its buffer is then reused).
   */
  get lastLogits(): Tensor | undefined {
    return this.logits
  }

  /**
   * The total gradient norm of the last step before clipping (what clipGradNorm returned),
   * when the `clipGradNorm` option is set.
   */
  get lastGradNorm(): number | undefined {
    return this.gradNorm
  }

  /**
   * One optimizer step on a batch: forward, backward, clipping (if set), the optimizer's
   * update, then the schedule's step (if set). Returns the batch's mean loss (before the update).
   */
  step(x: Tensor, labels: Tensor, options: StepOptions = {}): number {
    checkTensor(labels, "labels")
    const batch = this.batchSizeOf(x, labels)
    const tp = this.trainPlan(batch)
    const target = this.targetFor(labels, batch, tp.numClasses, tp)
    if (this.logits !== undefined) {
      this.logitsPlan!.recycle([this.logits])
      this.logits = undefined
    }
    tp.feeds.x = x
    tp.feeds.target = target
    // A fresh seed per dropout layer per step, from the trainer's seeded stream.
    for (const t of tp.seeds) t.data[0] = this.random.nextUint32() | 0
    const out = tp.plan.run(tp.feeds, this.params, this.runOptions)
    const lossTensor = out[0]
    const loss = lossTensor.data[0]
    let k = 1
    if (this.fetchLogits) {
      this.logits = out[k++]
      this.logitsPlan = tp.plan
    }
    for (const name of tp.gradNames) tp.grads.set(name, out[k++])
    options.beforeUpdate?.(tp.grads, loss)
    if (this.clipNorm !== undefined) this.gradNorm = clipGradNorm(tp.grads, this.clipNorm.maxNorm, { normType: this.clipNorm.normType })
    if (this.clipValue !== undefined) clipGradValue(tp.grads, this.clipValue)
    this.optimizer.step(this.params, tp.grads)
    this.scheduler?.step()
    for (const name of tp.bufferNames) {
      const updated = out[k++]
      const stored = this.params.get(name)!
      stored.data.set(updated.data)
      tp.plan.recycle([updated])
    }
    tp.plan.recycle([lossTensor])
    for (const g of tp.grads.values()) tp.plan.recycle([g])
    return loss
  }

  /** Mean loss and number of correct arg-max predictions on a batch, in inference mode. */
  evaluate(x: Tensor, labels: Tensor): EvaluateResult {
    checkTensor(labels, "labels")
    const batch = this.batchSizeOf(x, labels)
    const ep = this.evalPlan(batch, true)
    const target = this.targetFor(labels, batch, ep.numClasses, ep)
    const [logits, lossTensor] = ep.plan.run({ x, target }, this.params, this.runOptions)
    const loss = lossTensor.data[0]
    const correct = labels.dtype === "int32" ? countCorrect(logits, labels) : countCorrect(logits, argmaxRows(labels))
    ep.plan.recycle([logits, lossTensor])
    return { loss, correct, count: batch }
  }

  /** The logits [N, classes] of a batch in inference mode (a tensor you own). */
  predict(x: Tensor): Tensor {
    const batch = this.batchSizeOf(x)
    const ep = this.evalPlan(batch, false)
    return ep.plan.run({ x }, this.params)[0]
  }

  /** Drops the compiled plans (e.g. after changing the model); they rebuild on demand. */
  clearPlans(): void {
    this.trainPlans.clear()
    this.evalPlans.clear()
    this.logits = undefined
  }

  private batchSizeOf(x: Tensor, labels?: Tensor): number {
    checkTensor(x, "input batch")
    if (labels !== undefined) checkTensor(labels, "labels")
    if (x.shape.length !== this.inputShape.length + 1 || this.inputShape.some((d, i) => x.shape[i + 1] !== d)) {
      throw new FeedError(`input batch has shape ${showShape(x.shape)} (expected [N, ${this.inputShape.join(", ")}])`)
    }
    const n = x.shape[0]
    if (labels !== undefined && labels.shape[0] !== n) {
      throw new FeedError(`labels have shape ${showShape(labels.shape)} for a batch of ${n} (expected ${n} labels)`)
    }
    return n
  }

  private lossOf(logits: Value, target: Value): Value {
    return this.loss === "cross_entropy"
      ? crossEntropy(logits, target, { reduction: "mean", label_smoothing: this.labelSmoothing })
      : mseLoss(logits, target, { reduction: "mean" })
  }

  private targetInput(logits: Value, batch: number): Value {
    const b = logits.builder
    if (logits.rank !== 2) throw new ShapeError(`the model outputs ${showShape(logits.shape)} (expected logits [N, classes])`)
    return this.loss === "cross_entropy" ? b.input("target", [batch], "int32") : b.input("target", [batch, logits.shape[1]])
  }

  private trainPlan(batch: number): TrainPlan {
    const cached = this.trainPlans.get(batch)
    if (cached !== undefined) return cached
    const g = buildModelGraph(this.model, { batchSize: batch, inputShape: this.inputShape, dtype: this.dtype, training: true })
    const target = this.targetInput(g.output, batch)
    const loss = this.lossOf(g.output, target)
    const gradNames = [...g.trainable.keys()]
    const grads = gradValues(g.builder, loss, [...g.trainable.values()])
    const bufferNames = [...g.bufferUpdates.keys()]
    const fetches = [loss, ...(this.fetchLogits ? [g.output] : []), ...grads, ...g.bufferUpdates.values()].map((v) => v.ref)
    const plan = compile(g.builder.graph, fetches)
    const feeds: { [name: string]: Tensor } = {}
    const seeds: Tensor[] = []
    for (const name of g.seedInputs.keys()) {
      const t: Tensor = { shape: [], dtype: "int32", data: new Int32Array(1) }
      feeds[name] = t
      seeds.push(t)
    }
    const tp: TrainPlan = { plan, gradNames, bufferNames, numClasses: g.output.shape[1], grads: new Map(), feeds, seeds, oneHot: undefined }
    this.trainPlans.set(batch, tp)
    return tp
  }

  private evalPlan(batch: number, withLoss: boolean): EvalPlan {
    const key = `${batch}:${withLoss}`
    const cached = this.evalPlans.get(key)
    if (cached !== undefined) return cached
    const g = buildModelGraph(this.model, { batchSize: batch, inputShape: this.inputShape, dtype: this.dtype, training: false })
    const fetches = [g.output.ref]
    if (withLoss) fetches.push(this.lossOf(g.output, this.targetInput(g.output, batch)).ref)
    // Only the logits (and loss) are fetched, so optional outputs such as max pooling's
    // argmax have no consumer and are never computed.
    const ep: EvalPlan = { plan: compile(g.builder.graph, fetches), withLoss, numClasses: g.output.shape[g.output.rank - 1], oneHot: undefined }
    this.evalPlans.set(key, ep)
    return ep
  }

  /** The tensor to feed as `target`: labels as given, or one-hot for mse on int labels. */
  private targetFor(labels: Tensor, batch: number, classes: number, holder: { oneHot: Tensor | undefined }): Tensor {
    if (this.loss === "cross_entropy") {
      if (labels.dtype !== "int32" || labels.shape.length !== 1) {
        throw new FeedError(`cross_entropy labels have shape ${showShape(labels.shape)} ${labels.dtype} (expected [${batch}] int32 class indices)`)
      }
      checkLabels(labels, classes)
      return labels
    }
    if (labels.dtype !== "int32") return labels
    if (labels.shape.length !== 1) throw new FeedError(`mse labels have shape ${showShape(labels.shape)} (expected [N] int32 or [N, C] float)`)
    checkLabels(labels, classes)
    let t = holder.oneHot
    if (t === undefined) {
      t = { shape: [batch, classes], dtype: this.dtype, data: allocate(this.dtype, batch * classes) }
      holder.oneHot = t
    }
    oneHotInto(labels, classes, t.data)
    return t
  }
}

function checkLabels(labels: Tensor, classes: number): void {
  const d = labels.data
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0 || d[i] >= classes) throw new FeedError(`label ${d[i]} at position ${i} is out of range (expected 0 <= label < ${classes})`)
  }
}

/** Writes one_hot(labels, classes) into `out` (length N * classes). */
function oneHotInto(labels: Tensor, classes: number, out: { fill(v: number): unknown; [i: number]: number }): void {
  out.fill(0)
  const d = labels.data
  for (let i = 0; i < d.length; i++) out[i * classes + d[i]] = 1
}

/**
 * one_hot(labels, classes) as a float tensor [N, classes].
 *
 * @example
 * oneHot(tensor([2, 0], [2], "int32"), 3).data // [0, 0, 1, 1, 0, 0]
 */
export function oneHot(labels: Tensor, classes: number, dtype: FloatDType = "float32"): Tensor {
  checkLabels(labels, classes)
  const data = allocate(dtype, labels.data.length * classes)
  oneHotInto(labels, classes, data)
  return { shape: [labels.data.length, classes], dtype, data }
}

/** The index of each row's largest value (first on ties), as int32 [N]. */
export function argmaxRows(t: Tensor): Tensor {
  const [n, c] = t.shape
  const out = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    let best = 0
    let bestValue = t.data[i * c]
    for (let j = 1; j < c; j++) {
      const v = t.data[i * c + j]
      if (v > bestValue) {
        bestValue = v
        best = j
      }
    }
    out[i] = best
  }
  return { shape: [n], dtype: "int32", data: out }
}

/**
 * How many rows of `logits` [N, C] have their largest value at `labels[i]`.
 *
 * @example
 * countCorrect(logits, labels) / labels.shape[0] // accuracy
 */
export function countCorrect(logits: Tensor, labels: Tensor): number {
  const predicted = argmaxRows(logits).data
  let correct = 0
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels.data[i]) correct++
  return correct
}
