/**
 * Gradient clipping as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`: both
 * rescale the gradient tensors in place (call them between backward and the optimizer
 * step, or let the Trainer do it with its `clipGradNorm` / `clipGradValue` options).
 */
import { AttrError, KernelError } from "../errors.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** Gradients: a map by parameter name (as the Trainer hands them out) or any list of tensors. */
export type Gradients = ReadonlyMap<string, Tensor> | Iterable<Tensor>

const tensorsOf = (grads: Gradients): Iterable<Tensor> => (grads instanceof Map ? grads.values() : (grads as Iterable<Tensor>))

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** The p of the norm: any p > 0, or Infinity (max |g|). Default 2. */
  readonly normType?: number
  /** Throw (KernelError) when the total norm is NaN or infinite, instead of scaling by it. Default false. */
  readonly errorIfNonfinite?: boolean
}

/**
 * The p-norm of one tensor: (sum |x|^p)^(1/p); p = 2 as sqrt(sum x^2), p = 1 as sum |x|,
 * p = Infinity as max |x| (NaN if any element is NaN, as torch.norm).
 */
function tensorNorm(data: ArrayLike<number>, p: number): number {
  const n = data.length
  if (p === Infinity) {
    let m = 0
    for (let i = 0; i < n; i++) {
      const a = Math.abs(data[i])
      if (a > m || a !== a) m = a
      if (m !== m) return NaN
    }
    return m
  }
  let s = 0
  if (p === 2) {
    for (let i = 0; i < n; i++) s += data[i] * data[i]
    return Math.sqrt(s)
  }
  if (p === 1) {
    for (let i = 0; i < n; i++) s += Math.abs(data[i])
    return s
  }
  for (let i = 0; i < n; i++) s += Math.abs(data[i]) ** p
  return s ** (1 / p)
}

/**
 * Rescales the gradients so that their total p-norm is at most `maxNorm`, exactly as
 * PyTorch: the total norm is the p-norm of the per-tensor p-norms (one vector over all
 * parameters), `coef = min(1, maxNorm / (total + 1e-6))`, and every gradient is multiplied
 * by coef. Returns the total norm before clipping.
 *
 * @example
 * const total = clipGradNorm(grads, 1.0) // L2
 * clipGradNorm(grads, 0.5, { normType: Infinity })
 */
export function clipGradNorm(grads: Gradients, maxNorm: number, options: ClipGradNormOptions = {}): number {
  const p = options.normType ?? 2
  if (typeof maxNorm !== "number" || Number.isNaN(maxNorm)) throw new AttrError(`clipGradNorm: max_norm = ${JSON.stringify(maxNorm)} (expected a number)`)
  if (typeof p !== "number" || !(p > 0)) throw new AttrError(`clipGradNorm: norm_type = ${JSON.stringify(p)} (expected a number > 0 or Infinity)`)
  const list = [...tensorsOf(grads)]
  if (list.length === 0) return 0
  let total: number
  if (p === Infinity) {
    total = 0
    for (const g of list) {
      const m = tensorNorm(g.data, Infinity)
      if (m > total || m !== m) total = m
    }
  } else {
    const norms = list.map((g) => tensorNorm(g.data, p))
    total = tensorNorm(norms, p)
  }
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new KernelError(`clipGradNorm: the total norm of order ${p} of the gradients is ${total} (expected finite; pass errorIfNonfinite: false to scale anyway)`)
  }
  const coef = Math.min(maxNorm / (total + 1e-6), 1)
  for (const g of list) {
    const d = g.data
    for (let i = 0; i < d.length; i++) d[i] = d[i] * coef
  }
  return total
}

/**
 * Clamps every gradient element into [-clipValue, clipValue] in place (NaN stays NaN), as
 * `torch.nn.utils.clip_grad_value_`.
 *
 * @example
 * clipGradValue(grads, 0.1)
 */
export function clipGradValue(grads: Gradients, clipValue: number): void {
  if (typeof clipValue !== "number" || Number.isNaN(clipValue)) throw new AttrError(`clipGradValue: clip_value = ${JSON.stringify(clipValue)} (expected a number)`)
  const hi = clipValue
  const lo = -clipValue
  for (const g of tensorsOf(grads)) {
    const d = g.data
    // torch.clamp: min(max(x, lo), hi); Math.max/min propagate NaN as clamp does.
    for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i], lo), hi)
  }
}
