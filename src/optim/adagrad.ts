import type { FloatArray, FloatDType } from "../tensor/dtype.ts"
import { GroupedOptimizer, groupResolver, WEIGHT_DECAY, type Group, type ParamState, type WithGroups } from "./optimizer.ts"

/** The per-group hyper-parameters of {@link Adagrad}. */
export interface AdagradHyperParameters {
  lr: number
  lrDecay: number
  weightDecay: number
  initialAccumulatorValue: number
  eps: number
}

/**
 * Options of {@link Adagrad}: torch.optim's lr_decay, weight_decay,
 * initial_accumulator_value and eps, in camelCase or snake_case. Defaults: lr 1e-2,
 * lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10.
 */
export interface AdagradOptions {
  readonly lr?: number
  readonly lrDecay?: number
  readonly lr_decay?: number
  readonly weightDecay?: number
  readonly weight_decay?: number
  readonly initialAccumulatorValue?: number
  readonly initial_accumulator_value?: number
  readonly eps?: number
}

const resolveAdagrad = groupResolver<AdagradHyperParameters>("Adagrad", [
  { key: "lrDecay", torch: "lr_decay", label: "lr_decay value", kind: "number" },
  WEIGHT_DECAY,
  { key: "initialAccumulatorValue", torch: "initial_accumulator_value", label: "initial_accumulator_value", kind: "number" },
  { key: "eps", torch: "eps", label: "epsilon value", kind: "number" },
])

/**
 * Adagrad exactly as `torch.optim.Adagrad` (`_single_tensor_adagrad`; t = the parameter's
 * step, counted from 1):
 *
 *     g = g + weight_decay * p                    (skipped when weight_decay = 0)
 *     clr = lr / (1 + (t - 1) * lr_decay)
 *     sum = sum + g * g                           (sum starts at initial_accumulator_value)
 *     p = p - clr * g / (sqrt(sum) + eps)
 *
 * @example
 * const opt = new Adagrad({ lr: 0.05, lr_decay: 1e-3 })
 */
export class Adagrad extends GroupedOptimizer<AdagradHyperParameters> {
  readonly type = "adagrad"

  constructor(options: WithGroups<AdagradOptions> = {}) {
    super(options, options?.groups, resolveAdagrad, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 })
  }

  protected update(group: Group<AdagradHyperParameters>, p: FloatArray, g: ArrayLike<number>, state: ParamState, dtype: FloatDType): void {
    const { lr, lrDecay, weightDecay: wd, initialAccumulatorValue, eps } = group
    const n = p.length
    const sum = this.buffer(state, "sum", dtype, n, initialAccumulatorValue)
    const negClr = -(lr / (1 + (state.step - 1) * lrDecay))
    for (let i = 0; i < n; i++) {
      const gi = wd !== 0 ? g[i] + wd * p[i] : g[i]
      const s = sum[i] + gi * gi
      sum[i] = s
      p[i] = p[i] + (negClr * gi) / (Math.sqrt(s) + eps)
    }
  }
}
