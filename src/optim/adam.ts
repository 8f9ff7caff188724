import type { FloatArray, FloatDType } from "../tensor/dtype.ts"
import { EPS, GroupedOptimizer, groupResolver, WEIGHT_DECAY, type Group, type HyperParameter, type ParamState, type WithGroups } from "./optimizer.ts"

/** The per-group hyper-parameters of {@link Adam} and {@link AdamW}. */
export interface AdamHyperParameters {
  lr: number
  betas: [number, number]
  eps: number
  weightDecay: number
  amsgrad: boolean
}

/**
 * Options of {@link Adam} / {@link AdamW} under torch.optim's names (weight_decay may be
 * written weightDecay). Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, amsgrad false,
 * weight_decay 0 (Adam) or 1e-2 (AdamW).
 */
export interface AdamOptions {
  readonly lr?: number
  readonly betas?: readonly [number, number]
  readonly eps?: number
  readonly weightDecay?: number
  readonly weight_decay?: number
  readonly amsgrad?: boolean
}

const FIELDS: readonly HyperParameter[] = [
  { key: "betas", torch: "betas", label: "betas", kind: "betas" },
  EPS,
  WEIGHT_DECAY,
  { key: "amsgrad", torch: "amsgrad", label: "amsgrad", kind: "boolean" },
]

const defaults = (weightDecay: number): Group<AdamHyperParameters> => ({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false })

/**
 * The Adam family (Adam, AdamW): one update of one parameter, in torch.optim's
 * `_single_tensor_adam(w)` operation order (t = the parameter's step, counted from 1):
 *
 *     adamw: p = p * (1 - lr * weight_decay)     (decoupled decay, with the step's lr)
 *     adam:  g = g + weight_decay * p            (L2 term; skipped when weight_decay = 0)
 *     m = beta1 * m + (1 - beta1) * g
 *     v = beta2 * v + (1 - beta2) * g * g
 *     s = amsgrad ? max(s, v) : v                (s: running max of the uncorrected v)
 *     p = p - (lr / (1 - beta1^t)) * m / (sqrt(s) / sqrt(1 - beta2^t) + eps)
 *
 * beta1 is read at every step, so OneCycleLR can cycle it (1 - beta1^t then uses the
 * current beta1, as PyTorch does).
 */
export abstract class AdamFamily extends GroupedOptimizer<AdamHyperParameters> {
  /** AdamW's decoupled weight decay instead of Adam's L2 term. */
  protected abstract readonly decoupled: boolean

  protected update(group: Group<AdamHyperParameters>, p: FloatArray, g: ArrayLike<number>, state: ParamState, dtype: FloatDType): void {
    const { lr, eps, weightDecay: wd, amsgrad, betas } = group
    const beta1 = betas[0]
    const beta2 = betas[1]
    const t = state.step
    const n = p.length
    const m = this.buffer(state, "exp_avg", dtype, n)
    const v = this.buffer(state, "exp_avg_sq", dtype, n)
    const s = amsgrad ? this.buffer(state, "max_exp_avg_sq", dtype, n) : v
    const negStepSize = -(lr / (1 - beta1 ** t))
    const bias2Sqrt = Math.sqrt(1 - beta2 ** t)
    const keep1 = 1 - beta1
    const keep2 = 1 - beta2
    if (this.decoupled) {
      const decay = 1 - lr * wd
      for (let i = 0; i < n; i++) p[i] = p[i] * decay
    }
    const l2 = !this.decoupled && wd !== 0
    for (let i = 0; i < n; i++) {
      const gi = l2 ? g[i] + wd * p[i] : g[i]
      m[i] = m[i] * beta1 + keep1 * gi
      const vi = v[i] * beta2 + keep2 * gi * gi
      v[i] = vi
      // torch.maximum: a NaN in v propagates.
      if (amsgrad && (vi > s[i] || vi !== vi)) s[i] = vi
      const denom = Math.sqrt(s[i]) / bias2Sqrt + eps
      p[i] = p[i] + (negStepSize * m[i]) / denom
    }
  }
}

/**
 * Adam exactly as `torch.optim.Adam` (L2 weight decay added to the gradient; amsgrad).
 * Parameters are updated in place; the state buffers (exp_avg, exp_avg_sq, and
 * max_exp_avg_sq with amsgrad) are allocated on a parameter's first step, nothing after.
 *
 * @example
 * const opt = new Adam({ lr: 1e-3, betas: [0.9, 0.999] })
 * opt.step(params, grads)
 */
export class Adam extends AdamFamily {
  readonly type = "adam"
  protected readonly decoupled = false

  constructor(options: WithGroups<AdamOptions> = {}) {
    super(options, options?.groups, groupResolver<AdamHyperParameters>("Adam", FIELDS), defaults(0))
  }
}

/**
 * AdamW exactly as `torch.optim.AdamW`: Adam with decoupled weight decay
 * (p = p * (1 - lr * weight_decay) before the Adam step; default weight_decay 1e-2).
 *
 * @example
 * const opt = new AdamW({ lr: 3e-3, weight_decay: 0.05, groups: [{ params: isBiasOrNorm, weightDecay: 0 }] })
 */
export class AdamW extends AdamFamily {
  readonly type = "adamw"
  protected readonly decoupled = true

  constructor(options: WithGroups<AdamOptions> = {}) {
    super(options, options?.groups, groupResolver<AdamHyperParameters>("AdamW", FIELDS), defaults(1e-2))
  }
}
