import { DagradError, FormatError } from "../errors.ts"
import { fromLayerSpecs, type LayerSpec } from "../nn/models.ts"
import { namedParameters } from "../nn/module.ts"
import { Trainer } from "../nn/trainer.ts"
import { SGD } from "../optim/sgd.ts"
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
    readonly optimizer: {
      readonly type: string
      readonly lr: number
      readonly momentum?: number
      readonly dampening?: number
      readonly weight_decay?: number
      readonly nesterov?: boolean
    }
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
}

/**
 * Runs a `training_trajectory` case of training.json: builds the recorded small CNN from
 * `attrs.layers` with dagrad's layers, loads `params_init`, checks the loss and gradients
 * at the start, trains `attrs.steps` SGD steps on the fixed batch with dagrad's Trainer
 * and SGD, and compares every recorded loss, every `params_after_step`, `params_final`
 * and `loss_after`.
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
    const order = namedParameters(model).map((p) => p.name)
    if (order.join(",") !== a.param_order.join(",")) {
      throw new FormatError(`the model's parameters are ${order.join(", ")} (expected param_order ${a.param_order.join(", ")})`)
    }
    const params = new Map<string, Tensor>()
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
    if (a.optimizer.type !== "sgd") throw new FormatError(`optimizer '${a.optimizer.type}' (expected sgd)`)
    const optimizer = new SGD({
      lr: a.optimizer.lr,
      momentum: a.optimizer.momentum ?? 0,
      dampening: a.optimizer.dampening ?? 0,
      weight_decay: a.optimizer.weight_decay ?? 0,
      nesterov: a.optimizer.nesterov ?? false,
    })
    const trainer = new Trainer({ model, params, optimizer, loss, dtype, inputShape: x.shape.slice(1) })
    if (c.params_after_step.length !== a.steps || c.losses.length !== a.steps) {
      throw new FormatError(`${a.steps} steps but ${c.losses.length} losses and ${c.params_after_step.length} params_after_step`)
    }
    for (let step = 0; step < a.steps; step++) {
      const tol = step === 0 ? tolerance : trajectoryTolerance
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
      for (const name of order) compare(`params_after_step[${step}].${name}`, params.get(name)!.data, c.params_after_step[step][name], trajectoryTolerance)
    }
    for (const name of order) compare(`params_final.${name}`, params.get(name)!.data, c.params_final[name], trajectoryTolerance)
    const after = trainer.evaluate(x, target).loss
    compare("loss_after", [after], [c.loss_after], trajectoryTolerance)
    return { ok, worst, checked }
  } catch (e) {
    const detail = e instanceof DagradError || e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    return { ok: false, worst, detail, checked }
  }
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
