/**
 * The functional API of the pooling family: PyTorch's torch.nn.functional names in
 * camelCase, each applying one op to graph values (re-exported by ./index.ts).
 */
import { ShapeError } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { adaptiveAvgPool1dOp, adaptiveAvgPool2dOp, adaptiveAvgPool3dOp, adaptiveMaxPool1dOp, adaptiveMaxPool2dOp, adaptiveMaxPool3dOp, type AdaptiveMaxPoolOptions, type AdaptiveSize } from "./adaptive.ts"
import { avgPool1dOp, avgPool2dBackwardOp, avgPool2dOp, avgPool3dOp, type AvgPoolOptions } from "./avg.ts"
import { lpPool1dOp, lpPool2dOp, lpPool3dOp, type LpPoolOptions } from "./lp.ts"
import { maxPool1dOp, maxPool2dBackwardOp, maxPool2dOp, maxPool3dOp, type MaxPoolOptions } from "./max.ts"
import { maxUnpool1dOp, maxUnpool2dOp, maxUnpool3dOp, type MaxUnpoolOptions } from "./unpool.ts"

/** A max pool's result with its argmax: `indices` is int32, the flat index into each (n, c) plane. */
export interface PoolWithIndices {
  readonly y: Value
  readonly indices: Value
}

// ---------------------------------------------------------------- max pooling

/**
 * torch.nn.functional.max_pool1d on (N, C, L).
 *
 * @example
 * const y = maxPool1d(x, { kernel_size: 3, stride: 2, padding: 1 })
 */
export const maxPool1d = (x: Value, attrs: MaxPoolOptions): Value => x.builder.apply(maxPool1dOp, { x }, attrs).y
/**
 * torch.nn.functional.max_pool2d on (N, C, H, W). `tie` / `nan` choose gradient conventions
 * for tied maxima and NaN (defaults are PyTorch's).
 *
 * @example
 * const y = maxPool2d(x, { kernel_size: 2 })                 // [N, C, 28, 28] -> [N, C, 14, 14]
 * const s = maxPool2d(x, { kernel_size: 2, tie: "split" })  // tied maxima share the gradient
 */
export const maxPool2d = (x: Value, attrs: MaxPoolOptions): Value => x.builder.apply(maxPool2dOp, { x }, attrs).y
/**
 * torch.nn.functional.max_pool3d on (N, C, D, H, W).
 *
 * @example
 * const y = maxPool3d(x, { kernel_size: [1, 2, 2] })
 */
export const maxPool3d = (x: Value, attrs: MaxPoolOptions): Value => x.builder.apply(maxPool3dOp, { x }, attrs).y

/**
 * max_pool1d with `return_indices=True`.
 *
 * @example
 * const { y, indices } = maxPool1dWithIndices(x, { kernel_size: 2 })
 */
export const maxPool1dWithIndices = (x: Value, attrs: MaxPoolOptions): PoolWithIndices => x.builder.apply(maxPool1dOp, { x }, attrs)
/**
 * max_pool2d with `return_indices=True`: indices are h*W + w within each plane.
 *
 * @example
 * const { y, indices } = maxPool2dWithIndices(x, { kernel_size: 2 })
 * const up = maxUnpool2d(y, indices, { kernel_size: 2 })
 */
export const maxPool2dWithIndices = (x: Value, attrs: MaxPoolOptions): PoolWithIndices => x.builder.apply(maxPool2dOp, { x }, attrs)
/**
 * max_pool3d with `return_indices=True`: indices are (d*H + h)*W + w within each plane.
 *
 * @example
 * const { y, indices } = maxPool3dWithIndices(x, { kernel_size: 2 })
 */
export const maxPool3dWithIndices = (x: Value, attrs: MaxPoolOptions): PoolWithIndices => x.builder.apply(maxPool3dOp, { x }, attrs)

/**
 * The gradient max_pool2d's rule builds: gy scattered (added) to the saved argmax positions.
 *
 * @example
 * const gx = maxPool2dBackward(gy, indices, { kernel_size: 2, input_size: [28, 28] })
 */
export const maxPool2dBackward = (gy: Value, indices: Value, attrs: MaxPoolOptions & { input_size: readonly number[] }): Value =>
  gy.builder.apply(maxPool2dBackwardOp, { gy, indices }, attrs).y

// ---------------------------------------------------------------- average and sum pooling

/**
 * torch.nn.functional.avg_pool1d on (N, C, L).
 *
 * @example
 * const y = avgPool1d(x, { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false })
 */
export const avgPool1d = (x: Value, attrs: AvgPoolOptions): Value => x.builder.apply(avgPool1dOp, { x }, attrs).y
/**
 * torch.nn.functional.avg_pool2d on (N, C, H, W).
 *
 * @example
 * const y = avgPool2d(x, { kernel_size: 2 })
 */
export const avgPool2d = (x: Value, attrs: AvgPoolOptions): Value => x.builder.apply(avgPool2dOp, { x }, attrs).y
/**
 * torch.nn.functional.avg_pool3d on (N, C, D, H, W).
 *
 * @example
 * const y = avgPool3d(x, { kernel_size: 2, ceil_mode: true })
 */
export const avgPool3d = (x: Value, attrs: AvgPoolOptions): Value => x.builder.apply(avgPool3dOp, { x }, attrs).y

/**
 * The gradient avg_pool2d's rule builds: gy[o] / divisor spread over window o.
 *
 * @example
 * const gx = avgPool2dBackward(gy, { kernel_size: 2, input_size: [28, 28] })
 */
export const avgPool2dBackward = (gy: Value, attrs: AvgPoolOptions & { input_size: readonly number[] }): Value =>
  gy.builder.apply(avgPool2dBackwardOp, { gy }, attrs).y

type SumPoolOptions = Omit<AvgPoolOptions, "divisor_override" | "count_include_pad">

/**
 * Sum pooling over (N, C, L): avg_pool1d with divisor_override = 1.
 *
 * @example
 * const s = sumPool1d(x, { kernel_size: 3, stride: 1 })
 */
export const sumPool1d = (x: Value, attrs: SumPoolOptions): Value => avgPool1d(x, { ...attrs, divisor_override: 1 })
/**
 * Sum pooling over (N, C, H, W): avg_pool2d with divisor_override = 1 (padding adds zeros).
 *
 * @example
 * const s = sumPool2d(x, { kernel_size: 2, stride: 1 }) // each output = sum of a 2x2 window
 */
export const sumPool2d = (x: Value, attrs: SumPoolOptions): Value => avgPool2d(x, { ...attrs, divisor_override: 1 })
/**
 * Sum pooling over (N, C, D, H, W): avg_pool3d with divisor_override = 1.
 *
 * @example
 * const s = sumPool3d(x, { kernel_size: 2 })
 */
export const sumPool3d = (x: Value, attrs: SumPoolOptions): Value => avgPool3d(x, { ...attrs, divisor_override: 1 })

// ---------------------------------------------------------------- power-average pooling

/**
 * torch.nn.functional.lp_pool1d: (sum of x^p over the window * K / n)^(1/p).
 *
 * @example
 * const y = lpPool1d(x, { norm_type: 2, kernel_size: 3 })
 */
export const lpPool1d = (x: Value, attrs: LpPoolOptions): Value => x.builder.apply(lpPool1dOp, { x }, attrs).y
/**
 * torch.nn.functional.lp_pool2d.
 *
 * @example
 * const y = lpPool2d(x, { norm_type: 2, kernel_size: 2 }) // root of the sum of squares per 2x2 window
 */
export const lpPool2d = (x: Value, attrs: LpPoolOptions): Value => x.builder.apply(lpPool2dOp, { x }, attrs).y
/**
 * torch.nn.functional.lp_pool3d.
 *
 * @example
 * const y = lpPool3d(x, { norm_type: 1, kernel_size: 2 })
 */
export const lpPool3d = (x: Value, attrs: LpPoolOptions): Value => x.builder.apply(lpPool3dOp, { x }, attrs).y

// ---------------------------------------------------------------- adaptive pooling

/**
 * torch.nn.functional.adaptive_avg_pool1d: bin i of O over L covers [floor(iL/O), ceil((i+1)L/O)).
 *
 * @example
 * const y = adaptiveAvgPool1d(x, 4)
 */
export const adaptiveAvgPool1d = (x: Value, output_size: AdaptiveSize): Value => x.builder.apply(adaptiveAvgPool1dOp, { x }, { output_size }).y
/**
 * torch.nn.functional.adaptive_avg_pool2d (an entry may be null: keep that input size).
 *
 * @example
 * const y = adaptiveAvgPool2d(x, [7, 7])
 */
export const adaptiveAvgPool2d = (x: Value, output_size: AdaptiveSize): Value => x.builder.apply(adaptiveAvgPool2dOp, { x }, { output_size }).y
/**
 * torch.nn.functional.adaptive_avg_pool3d.
 *
 * @example
 * const y = adaptiveAvgPool3d(x, [1, 7, 7])
 */
export const adaptiveAvgPool3d = (x: Value, output_size: AdaptiveSize): Value => x.builder.apply(adaptiveAvgPool3dOp, { x }, { output_size }).y

/**
 * torch.nn.functional.adaptive_max_pool1d.
 *
 * @example
 * const y = adaptiveMaxPool1d(x, 4)
 */
export const adaptiveMaxPool1d = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): Value =>
  x.builder.apply(adaptiveMaxPool1dOp, { x }, { ...options, output_size }).y
/**
 * torch.nn.functional.adaptive_max_pool2d.
 *
 * @example
 * const y = adaptiveMaxPool2d(x, [3, 4], { tie: "split" })
 */
export const adaptiveMaxPool2d = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): Value =>
  x.builder.apply(adaptiveMaxPool2dOp, { x }, { ...options, output_size }).y
/**
 * torch.nn.functional.adaptive_max_pool3d.
 *
 * @example
 * const y = adaptiveMaxPool3d(x, 2)
 */
export const adaptiveMaxPool3d = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): Value =>
  x.builder.apply(adaptiveMaxPool3dOp, { x }, { ...options, output_size }).y
/**
 * adaptive_max_pool1d with `return_indices=True`.
 *
 * @example
 * const { y, indices } = adaptiveMaxPool1dWithIndices(x, 4)
 */
export const adaptiveMaxPool1dWithIndices = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): PoolWithIndices =>
  x.builder.apply(adaptiveMaxPool1dOp, { x }, { ...options, output_size })
/**
 * adaptive_max_pool2d with `return_indices=True`.
 *
 * @example
 * const { y, indices } = adaptiveMaxPool2dWithIndices(x, [2, 2])
 */
export const adaptiveMaxPool2dWithIndices = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): PoolWithIndices =>
  x.builder.apply(adaptiveMaxPool2dOp, { x }, { ...options, output_size })
/**
 * adaptive_max_pool3d with `return_indices=True`.
 *
 * @example
 * const { y, indices } = adaptiveMaxPool3dWithIndices(x, 2)
 */
export const adaptiveMaxPool3dWithIndices = (x: Value, output_size: AdaptiveSize, options: AdaptiveMaxPoolOptions = {}): PoolWithIndices =>
  x.builder.apply(adaptiveMaxPool3dOp, { x }, { ...options, output_size })

/**
 * Global average pooling of (N, C, *spatial) with 1 to 3 spatial dims: adaptive average
 * pooling to size 1 in every spatial dim, giving (N, C, 1, ...). Flatten it for (N, C).
 *
 * @example
 * const g = globalAvgPool(x) // [N, 64, 7, 7] -> [N, 64, 1, 1]
 */
export function globalAvgPool(x: Value): Value {
  const ops = [adaptiveAvgPool1dOp, adaptiveAvgPool2dOp, adaptiveAvgPool3dOp] as const
  const dims = spatialDimsOf(x, "globalAvgPool")
  return x.builder.apply(ops[dims - 1], { x }, { output_size: 1 }).y
}

/**
 * Global max pooling of (N, C, *spatial): adaptive max pooling to size 1, giving (N, C, 1, ...).
 *
 * @example
 * const g = globalMaxPool(x) // [N, 64, 7, 7] -> [N, 64, 1, 1]
 */
export function globalMaxPool(x: Value, options: AdaptiveMaxPoolOptions = {}): Value {
  const ops = [adaptiveMaxPool1dOp, adaptiveMaxPool2dOp, adaptiveMaxPool3dOp] as const
  const dims = spatialDimsOf(x, "globalMaxPool")
  return x.builder.apply(ops[dims - 1], { x }, { ...options, output_size: 1 }).y
}

function spatialDimsOf(x: Value, what: string): 1 | 2 | 3 {
  const dims = x.rank - 2
  if (dims !== 1 && dims !== 2 && dims !== 3) {
    throw new ShapeError(`${what}: input of rank ${x.rank} (expected (N, C, *spatial) with 1 to 3 spatial dims)`)
  }
  return dims
}

// ---------------------------------------------------------------- unpooling

/**
 * torch.nn.functional.max_unpool1d: x and its max_pool1d indices back to length (L-1)*s - 2p + k.
 *
 * @example
 * const up = maxUnpool1d(y, indices, { kernel_size: 2, output_size: [9] })
 */
export const maxUnpool1d = (x: Value, indices: Value, attrs: MaxUnpoolOptions): Value => x.builder.apply(maxUnpool1dOp, { x, indices }, attrs).y
/**
 * torch.nn.functional.max_unpool2d.
 *
 * @example
 * const { y, indices } = maxPool2dWithIndices(x, { kernel_size: 2 })
 * const up = maxUnpool2d(y, indices, { kernel_size: 2 })
 */
export const maxUnpool2d = (x: Value, indices: Value, attrs: MaxUnpoolOptions): Value => x.builder.apply(maxUnpool2dOp, { x, indices }, attrs).y
/**
 * torch.nn.functional.max_unpool3d.
 *
 * @example
 * const up = maxUnpool3d(y, indices, { kernel_size: 2 })
 */
export const maxUnpool3d = (x: Value, indices: Value, attrs: MaxUnpoolOptions): Value => x.builder.apply(maxUnpool3dOp, { x, indices }, attrs).y
