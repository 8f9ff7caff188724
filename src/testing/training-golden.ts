import { DagradError, FormatError } from "../errors.ts"
import { fromLayerSpecs, type LayerSpec } from "../nn/models.ts"
import { initParameters, namedParameters, type Module } from "../nn/module.ts"
import { Trainer } from "../nn/trainer.ts"
import { optimizerFromSpec, schedulerFromSpec, type OptimizerSpec, type SchedulerSpec } from "../optim/from-spec.ts"
import type { Optimizer } from "../optim/optimizer.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { goldenNumber, goldenTensor, type CaseHandler, type CaseResult, type GoldenCase, type GoldenTensor } from "./golden.ts"

/** The worst disagreement of a training case (relative error |got - want| / max(1, |want|)). */
export interface TrainingMismatch {
  /** `losses[2]`, `grads_init.fc1.weight`, `params_after_step[4].conv1.bias`, `loss_after`. */
  readonly what: string
  readonly index: number
  readonly got: number
  readonly want: number
  readonly error: number
}

/** What {@link runTrainingCase} returns: whether every value agreed, the worst relative error, and how many values were compared. */
export interface TrainingCaseResult {
  readonly ok: boolean
  /** The largest relative error found, whether or not it is within tolerance. */
  readonly worst: TrainingMismatch | undefined
  /** Why the case could not run (bad case data, an engine error). */
  readonly detail?: string
  /** Number of values compared. */
  readonly checked: number
}

/** Options of {@link runTrainingCase}: dtype and the tolerances before and after the SGD steps. */
export interface TrainingCaseOptions {
  /** Default float64. */
  readonly dtype?: FloatDType
  /** Tolerance at params_init (losses[0], grads_init). Default 1e-9 (float64), 2e-4 (float32). */
  readonly tolerance?: number
  /**
   * Tolerance after SGD steps, where summation-order differences could compound through
   * the updates. Default `tolerance` (in float64 the trajectories agree with PyTorch to
   * ~1e-16 relative, so no slack is needed).
   */
  readonly trajectoryTolerance?: number
}

interface TrainingCase {
  readonly name: string
  readonly attrs: {
    readonly layers: readonly LayerSpec[]
    readonly loss: { readonly op: string; readonly reduction?: string }
    /** `{ type, ...torch.optim arguments }` (sgd, adam, adamw, rmsprop, adagrad). */
    readonly optimizer: OptimizerSpec
    /** A torch.optim.lr_scheduler stepped after every optimizer step, or null. */
    readonly scheduler?: SchedulerSpec | null
    /** Gradient clipping between backward and the step, or null. */
    readonly clip?: { readonly type: "norm"; readonly max_norm: number; readonly norm_type?: number | string } | { readonly type: "value"; readonly clip_value: number } | null
    readonly steps: number
    readonly param_order: readonly string[]
  }
  readonly inputs: { readonly x: GoldenTensor; readonly labels: GoldenTensor; readonly target?: GoldenTensor }
  readonly params_init: { readonly [name: string]: GoldenTensor }
  readonly grads_init: { readonly [name: string]: GoldenTensor }
  readonly losses: readonly (number | string)[]
  readonly params_after_step: readonly { readonly [name: string]: GoldenTensor }[]
  readonly params_final: { readonly [name: string]: GoldenTensor }
  readonly loss_after: number | string
  /** lrs[k]: the lr step k used (optim.json). */
  readonly lrs?: readonly (number | string)[]
  /** momentums[k]: the momentum or beta1 step k used (one-cycle cases). */
  readonly momentums?: readonly (number | string)[]
  /** total_norms[k]: clip_grad_norm_'s return value at step k. */
  readonly total_norms?: readonly (number | string)[]
  /** Batch-norm running statistics after the last step. */
  readonly buffers_final?: { readonly [name: string]: GoldenTensor }
}

/**
 * Runs a `training_trajectory` case of training.json or optim.json: builds the recorded
 * small CNN from `attrs.layers` with dagrad's layers, loads `params_init`, checks the loss
 * and gradients at the start, trains `attrs.steps` steps on the fixed batch with dagrad's
 * Trainer, the recorded optimizer, schedule (stepped after every step) and clipping, and
 * compares every recorded loss, lr, momentum, total norm, every `params_after_step`,
 * `params_final`, the batch-norm buffers and `loss_after`.
 *
 * @example
 * const file = JSON.parse(readFileSync("../shared/golden/training.json", "utf8"))
 * for (const c of file.cases) console.log(c.name, runTrainingCase(c).ok)
 */
export function runTrainingCase(caseJson: unknown, options: TrainingCaseOptions = {}): TrainingCaseResult {
  const dtype = options.dtype ?? "float64"
  const tolerance = options.tolerance ?? (dtype === "float64" ? 1e-9 : 2e-4)
  const trajectoryTolerance = options.trajectoryTolerance ?? tolerance
  let worst: TrainingMismatch | undefined
  let worstScore = 0
  let ok = true
  let checked = 0
  const compare = (what: string, got: ArrayLike<number>, want: GoldenTensor | readonly (number | string)[], tol: number): void => {
    const data = Array.isArray(want) ? want : (want as GoldenTensor).data
    if (got.length !== data.length) throw new FormatError(`${what}: ${got.length} values (expected ${data.length})`)
    for (let i = 0; i < data.length; i++) {
      const w = goldenNumber(data[i])
      const g = got[i]
      const error = Number.isFinite(w) ? Math.abs(g - w) / Math.max(1, Math.abs(w)) : Object.is(g, w) ? 0 : Infinity
      const e = Number.isNaN(error) ? Infinity : error
      checked++
      if (e > tol) ok = false
      // Rank by how many tolerances off, so a trajectory value is judged by its own bound.
      const score = e / tol
      if (worst === undefined || score > worstScore) {
        worstScore = score
        worst = { what, index: i, got: g, want: w, error: e }
      }
    }
  }
  try {
    const c = checkCase(caseJson)
    const a = c.attrs
    const x = goldenTensor(c.inputs.x, dtype)
    const model = fromLayerSpecs(a.layers, x.shape.slice(1))
    const named = namedParameters(model)
    const order = named.filter((p) => p.trainable).map((p) => p.name)
    if (order.join(",") !== a.param_order.join(",")) {
      throw new FormatError(`the model's parameters are ${order.join(", ")} (expected param_order ${a.param_order.join(", ")})`)
    }
    // Buffers (batch-norm running statistics) start from the layers' own initial values.
    const params = initParameters(model, { dtype })
    for (const name of order) {
      const t = c.params_init[name]
      if (t === undefined) throw new FormatError(`params_init has no '${name}'`)
      params.set(name, goldenTensor(t, dtype))
    }
    let loss: "cross_entropy" | "mse"
    let target: Tensor
    if (a.loss.op === "cross_entropy") {
      loss = "cross_entropy"
      target = goldenTensor(c.inputs.labels, dtype)
    } else if (a.loss.op === "mse_loss") {
      loss = "mse"
      // mse against one_hot(labels, C), stored as inputs.target (float)
      target = c.inputs.target !== undefined ? goldenTensor(c.inputs.target, dtype) : goldenTensor(c.inputs.labels, dtype)
    } else {
      throw new FormatError(`loss op '${a.loss.op}' (expected cross_entropy or mse_loss)`)
    }
    if ((a.loss.reduction ?? "mean") !== "mean") throw new FormatError(`loss reduction '${a.loss.reduction}' (expected mean)`)
    const optimizer = optimizerFromSpec(a.optimizer)
    const scheduler = a.scheduler ? schedulerFromSpec(a.scheduler, optimizer) : undefined
    const clip = a.clip ?? undefined
    const trainer = new Trainer({
      model,
      params,
      optimizer,
      scheduler,
      loss,
      dtype,
      inputShape: x.shape.slice(1),
      clipGradNorm: clip?.type === "norm" ? { maxNorm: clip.max_norm, normType: goldenNumber(clip.norm_type ?? 2) } : undefined,
      clipGradValue: clip?.type === "value" ? clip.clip_value : undefined,
    })
    if (clip !== undefined && clip.type !== "norm" && clip.type !== "value") throw new FormatError(`clip type ${JSON.stringify((clip as { type: unknown }).type)} (expected norm or value)`)
    if (c.params_after_step.length !== a.steps || c.losses.length !== a.steps) {
      throw new FormatError(`${a.steps} steps but ${c.losses.length} losses and ${c.params_after_step.length} params_after_step`)
    }
    for (let step = 0; step < a.steps; step++) {
      const tol = step === 0 ? tolerance : trajectoryTolerance
      if (c.lrs !== undefined) compare(`lrs[${step}]`, [optimizer.lr], [c.lrs[step]], tol)
      if (c.momentums !== undefined) compare(`momentums[${step}]`, [momentumOf(optimizer)], [c.momentums[step]], tol)
      const got = trainer.step(x, target, {
        beforeUpdate:
          step === 0
            ? (grads) => {
                for (const name of order) {
                  const want = c.grads_init[name]
                  if (want === undefined) throw new FormatError(`grads_init has no '${name}'`)
                  compare(`grads_init.${name}`, grads.get(name)!.data, want, tolerance)
                }
              }
            : undefined,
      })
      compare(`losses[${step}]`, [got], [c.losses[step]], tol)
      if (c.total_norms !== undefined) compare(`total_norms[${step}]`, [trainer.lastGradNorm ?? NaN], [c.total_norms[step]], tol)
      for (const name of order) compare(`params_after_step[${step}].${name}`, params.get(name)!.data, c.params_after_step[step][name], trajectoryTolerance)
    }
    for (const name of order) compare(`params_final.${name}`, params.get(name)!.data, c.params_final[name], trajectoryTolerance)
    for (const [name, want] of Object.entries(c.buffers_final ?? {})) {
      const got = params.get(name)
      // num_batches_tracked only feeds momentum=None (cumulative) averages: not stored here.
      if (got === undefined && name.endsWith(".num_batches_tracked")) continue
      if (got === undefined) throw new FormatError(`buffers_final has '${name}', which the model does not have`)
      compare(`buffers_final.${name}`, got.data, want, trajectoryTolerance)
    }
    // The recorded model stays in training mode: with batch norm, loss_after uses batch
    // statistics, so it is a training forward (with an update that changes nothing).
    const training = named.some((p) => !p.trainable)
    const after = training ? trainingLoss(model, params, loss, dtype, x, target) : trainer.evaluate(x, target).loss
    compare("loss_after", [after], [c.loss_after], trajectoryTolerance)
    return { ok, worst, checked }
  } catch (e) {
    const detail = e instanceof DagradError || e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    return { ok: false, worst, detail, checked }
  }
}

/** The momentum (SGD, RMSprop) or beta1 (Adam, AdamW) of the first group. */
function momentumOf(optimizer: Optimizer): number {
  const g = optimizer.paramGroups[0]
  return g.betas !== undefined ? g.betas[0] : (g.momentum ?? NaN)
}

/** The loss of a training-mode forward pass, parameters left as they are. */
function trainingLoss(model: Module, params: Map<string, Tensor>, loss: "cross_entropy" | "mse", dtype: FloatDType, x: Tensor, target: Tensor): number {
  const frozen: Optimizer = {
    lr: 0,
    paramGroups: [],
    step: () => undefined,
    stateDict: () => ({ meta: { type: "none" }, tensors: new Map() }),
    loadStateDict: () => undefined,
  }
  return new Trainer({ model, params: new Map(params), optimizer: frozen, loss, dtype, inputShape: x.shape.slice(1) }).step(x, target)
}

/**
 * The same check as a handler for the golden runner (`src/testing/golden.ts`): register it
 * for op `training_trajectory`.
 */
export const trainingTrajectoryHandler: CaseHandler = (c: GoldenCase, options): CaseResult => {
  const r = runTrainingCase(c, { dtype: options.dtype, tolerance: options.tolerance })
  const worst =
    r.worst === undefined ? undefined : { what: r.worst.what, index: r.worst.index, got: r.worst.got, want: r.worst.want, score: r.worst.error / options.tolerance }
  if (r.detail !== undefined) return { name: c.name, op: c.op, status: "failed", detail: r.detail, worst }
  return r.ok
    ? { name: c.name, op: c.op, status: "passed", worst }
    : { name: c.name, op: c.op, status: "failed", detail: `${worst!.what}[${worst!.index}] = ${worst!.got}, expected ${worst!.want}`, worst }
}

function checkCase(raw: unknown): TrainingCase {
  const c = raw as Partial<TrainingCase> | null
  const missing = ["attrs", "inputs", "params_init", "grads_init", "losses", "params_after_step", "params_final", "loss_after"].filter(
    (k) => c === null || typeof c !== "object" || (c as Record<string, unknown>)[k] === undefined,
  )
  if (missing.length > 0) throw new FormatError(`training case lacks ${missing.join(", ")} (expected a training_trajectory case)`)
  const a = c!.attrs!
  if (!Array.isArray(a.layers) || !Array.isArray(a.param_order) || !Number.isInteger(a.steps)) {
    throw new FormatError("training case attrs need layers, param_order and steps")
  }
  return c as TrainingCase
}
