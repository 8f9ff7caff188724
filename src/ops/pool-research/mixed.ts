/**
 * Mixed max-average pooling (Lee, Gallagher & Tu, 2016): y = α·max_pool(x) + (1 - α)·avg_pool(x)
 * with α fixed (a number in [0, 1]) or learnable (a graph value, e.g. sigmoid of a
 * parameter). Built from max_pool, avg_pool and elementwise ops, so its gradient is a graph
 * with double backward wherever max/avg pooling have one. Ties: the max part follows the
 * `tie` attr of max pooling (PyTorch's "first" by default); NaN: max pooling propagates it,
 * average pooling sums it, so y is NaN.
 */
import { AttrError } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { add, mul, scale, sub } from "../pointwise/index.ts"
import type { TiePolicy } from "../pool/geometry.ts"
import { avgPool1d, avgPool2d, avgPool3d, maxPool1d, maxPool2d, maxPool3d } from "../pool/functional.ts"

/** Options of mixed pooling: geometry, the mix α, and the max part's tie policy. */
export interface MixedPoolOptions {
  readonly kernel_size: number | readonly number[]
  readonly stride?: number | readonly number[]
  readonly padding?: number | readonly number[]
  readonly ceil_mode?: boolean
  /** α: a number in [0, 1] (fixed) or a value broadcastable to the output (learnable). */
  readonly alpha: number | Value
  readonly tie?: TiePolicy
}

const MAX = [maxPool1d, maxPool2d, maxPool3d] as const
const AVG = [avgPool1d, avgPool2d, avgPool3d] as const

/**
 * α·max + (1 - α)·avg over the same windows (avg counts padding like PyTorch's default).
 *
 * @example
 * mixedPool(2, x, { kernel_size: 2, alpha: 0.5 })
 * mixedPool(2, x, { kernel_size: 2, alpha: sigmoid(ctx.param("mix")) }) // learnable
 */
export function mixedPool(dims: 1 | 2 | 3, x: Value, o: MixedPoolOptions): Value {
  const geometry = { kernel_size: o.kernel_size, stride: o.stride ?? o.kernel_size, padding: o.padding ?? 0, ceil_mode: o.ceil_mode ?? false }
  const m = MAX[dims - 1](x, { ...geometry, tie: o.tie ?? "first" } as never)
  const a = AVG[dims - 1](x, geometry as never)
  if (typeof o.alpha === "number") {
    if (!(o.alpha >= 0 && o.alpha <= 1)) throw new AttrError(`mixed_pool${dims}d: alpha = ${o.alpha} (expected a number in [0, 1] or a graph value)`)
    return add(scale(m, o.alpha), scale(a, 1 - o.alpha))
  }
  return add(a, mul(o.alpha, sub(m, a)))
}
/** Mixed max-average pooling in 2-d (see {@link mixedPool}). */
export const mixedPool2d = (x: Value, o: MixedPoolOptions): Value => mixedPool(2, x, o)
