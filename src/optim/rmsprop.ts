import type { FloatArray, FloatDType } from "../tensor/dtype.ts"
import { EPS, GroupedOptimizer, groupResolver, MOMENTUM, WEIGHT_DECAY, type Group, type ParamState, type WithGroups } from "./optimizer.ts"

/** The per-group hyper-parameters of {@link RMSprop}. */
export interface RMSpropHyperParameters {
  lr: number
  alpha: number
  eps: number
  weightDecay: number
  momentum: number
  centered: boolean
}

/**
 * Options of {@link RMSprop} under torch.optim's names (weight_decay may be written
 * weightDecay). Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weight_decay 0, momentum 0,
 * centered false.
 */
export interface RMSpropOptions {
  readonly lr?: number
  readonly alpha?: number
  readonly eps?: number
  readonly weightDecay?: number
  readonly weight_decay?: number
  readonly momentum?: number
  readonly centered?: boolean
}

const resolveRMSprop = groupResolver<RMSpropHyperParameters>("RMSprop", [
  { key: "alpha", torch: "alpha", label: "alpha value", kind: "number" },
  EPS,
  WEIGHT_DECAY,
  MOMENTUM,
  { key: "centered", torch: "centered", label: "centered", kind: "boolean" },
])

/**
 * RMSprop exactly as `torch.optim.RMSprop` (no bias correction; `_single_tensor_rmsprop`'s
 * operation order):
 *
 *     g = g + weight_decay * p                    (skipped when weight_decay = 0)
 *     v = alpha * v + (1 - alpha) * g * g
 *     centered: a = alpha * a + (1 - alpha) * g;  avg = sqrt(v - a * a) + eps
 *     else:     avg = sqrt(v) + eps
 *     momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf   (buf starts at 0)
 *     else:         p = p - lr * g / avg
 *
 * Buffers (square_avg, grad_avg, momentum_buffer) are allocated on first use.
 *
 * @example
 * const opt = new RMSprop({ lr: 1e-3, alpha: 0.9, centered: true })
 */
export class RMSprop extends GroupedOptimizer<RMSpropHyperParameters> {
  readonly type = "rmsprop"

  constructor(options: WithGroups<RMSpropOptions> = {}) {
    super(options, options?.groups, resolveRMSprop, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false })
  }

  protected update(group: Group<RMSpropHyperParameters>, p: FloatArray, g: ArrayLike<number>, state: ParamState, dtype: FloatDType): void {
    const { lr, alpha, eps, weightDecay: wd, momentum, centered } = group
    const n = p.length
    const v = this.buffer(state, "square_avg", dtype, n)
    const a = centered ? this.buffer(state, "grad_avg", dtype, n) : v
    const buf = momentum > 0 ? this.buffer(state, "momentum_buffer", dtype, n) : v
    const keep = 1 - alpha
    const negLr = -lr
    for (let i = 0; i < n; i++) {
      const gi = wd !== 0 ? g[i] + wd * p[i] : g[i]
      const vi = v[i] * alpha + keep * gi * gi
      v[i] = vi
      let avg: number
      if (centered) {
        const ai = a[i] * alpha + keep * gi
        a[i] = ai
        avg = Math.sqrt(vi + -1 * ai * ai) + eps
      } else avg = Math.sqrt(vi) + eps
      if (momentum > 0) {
        const b = buf[i] * momentum + gi / avg
        buf[i] = b
        p[i] = p[i] + negLr * b
      } else p[i] = p[i] + (negLr * gi) / avg
    }
  }
}
