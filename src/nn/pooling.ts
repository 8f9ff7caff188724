import { GraphError, ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d, adaptiveMaxPool1dWithIndices, adaptiveMaxPool2dWithIndices, adaptiveMaxPool3dWithIndices, avgPool1d, avgPool2d, avgPool3d, lpPool1d, lpPool2d, lpPool3d, maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices, maxUnpool1d, maxUnpool2d, maxUnpool3d, type AdaptiveSize, type PoolWithIndices } from "../ops/pool/index.ts"
import type { NanPolicy, TiePolicy } from "../ops/pool/geometry.ts"
import { mean } from "../ops/reduce/index.ts"
import { spatial, type SpatialArg } from "./layers.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

/*
 * Pooling layers, PyTorch's torch.nn classes. Every family is written once over the number
 * of spatial dims (1, 2, 3); the exported classes only fix that number. Inputs are
 * (N, C, *spatial) or unbatched (C, *spatial), as the ops accept them.
 */

const show = (xs: readonly number[]): string => `[${xs.join(", ")}]`
type SpatialDims = 1 | 2 | 3

/** Shared by every pooling layer: no parameters, a PyTorch class name ending in `${dims}d`. */
abstract class PoolLayer implements Module {
  readonly type: string
  readonly params: readonly ParamSpec[] = []
  protected constructor(
    family: string,
    readonly dims: SpatialDims,
  ) {
    this.type = `${family}${dims}d`
  }
  abstract forward(x: Value, ctx: ForwardContext, ...rest: never[]): Value
}

// ---------------------------------------------------------------- max pooling

/** Options of {@link MaxPool2d}, as torch.nn.MaxPool2d's keyword arguments plus the tie and NaN policies. */
export interface MaxPoolLayerOptions {
  /** Default: kernel_size (PyTorch's `stride=None`). */
  readonly stride?: SpatialArg
  readonly padding?: SpatialArg
  readonly dilation?: SpatialArg
  readonly ceil_mode?: boolean
  /** Which tied maximum receives the gradient: "first" (PyTorch, default), "last", "split", "all". */
  readonly tie?: TiePolicy
  /** "propagate" (PyTorch, default) or "ignore" NaN inside a window. */
  readonly nan?: NanPolicy
}

const maxPoolFns = [maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices] as const

/**
 * Max pooling over 1-3 spatial dims (torch.nn.MaxPool1d/2d/3d). In a training graph the
 * op's argmax (`indices`) is an output edge the backward node reads; an inference graph
 * never asks for it, so it is not computed. PyTorch's `return_indices=True` is the method
 * {@link MaxPoolNd.withIndices} (a module returns one value).
 */
export abstract class MaxPoolNd extends PoolLayer {
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[]
  readonly dilation: readonly number[]
  readonly ceilMode: boolean
  readonly tie: TiePolicy
  readonly nan: NanPolicy

  protected constructor(dims: SpatialDims, kernelSize: SpatialArg, options: MaxPoolLayerOptions) {
    super("MaxPool", dims)
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, dims, "stride")
    this.padding = spatial(options.padding ?? 0, dims, "padding", 0)
    this.dilation = spatial(options.dilation ?? 1, dims, "dilation")
    this.ceilMode = options.ceil_mode ?? false
    this.tie = options.tie ?? "first"
    this.nan = options.nan ?? "propagate"
  }

  /** The pooled values and their argmax (flat index into each plane), for a MaxUnpool. */
  withIndices(x: Value): PoolWithIndices {
    return maxPoolFns[this.dims - 1](x, {
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      ceil_mode: this.ceilMode,
      tie: this.tie,
      nan: this.nan,
    })
  }

  /** Adds the max pooling of `x` (N, C, *spatial) or unbatched (C, *spatial); the argmax is kept for backward only. */
  forward(x: Value): Value {
    return this.withIndices(x).y
  }

  /** The one-line PyTorch repr `summary` shows, e.g. `MaxPool2d(kernel_size=...)`. */
  describe(): string {
    const extra = [
      this.padding.some((p) => p !== 0) ? `, padding=${show(this.padding)}` : "",
      this.dilation.some((d) => d !== 1) ? `, dilation=${show(this.dilation)}` : "",
      this.ceilMode ? ", ceil_mode=True" : "",
      this.tie !== "first" ? `, tie="${this.tie}"` : "",
      this.nan !== "propagate" ? `, nan="${this.nan}"` : "",
    ].join("")
    return `${this.type}(kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}${extra})`
  }
}

/** 1-d max pooling (torch.nn.MaxPool1d) over (N, C, L). @example new MaxPool1d(3, { stride: 2, padding: 1 }) */
export class MaxPool1d extends MaxPoolNd {
  constructor(kernelSize: SpatialArg, options: MaxPoolLayerOptions = {}) {
    super(1, kernelSize, options)
  }
}

/**
 * 2-d max pooling (torch.nn.MaxPool2d) over (N, C, H, W).
 *
 * @example
 * new MaxPool2d(2) // [N, 6, 28, 28] -> [N, 6, 14, 14]
 */
export class MaxPool2d extends MaxPoolNd {
  constructor(kernelSize: SpatialArg, options: MaxPoolLayerOptions = {}) {
    super(2, kernelSize, options)
  }
}

/** 3-d max pooling (torch.nn.MaxPool3d) over (N, C, D, H, W). @example new MaxPool3d([1, 2, 2]) */
export class MaxPool3d extends MaxPoolNd {
  constructor(kernelSize: SpatialArg, options: MaxPoolLayerOptions = {}) {
    super(3, kernelSize, options)
  }
}

// ---------------------------------------------------------------- average pooling

/** Options of {@link AvgPool2d} and its 1d/3d siblings, as torch.nn.AvgPool2d's keyword arguments. */
export interface AvgPoolLayerOptions {
  /** Default: kernel_size. */
  readonly stride?: SpatialArg
  readonly padding?: SpatialArg
  readonly ceil_mode?: boolean
  /** Count padded zeros in the divisor (default true, as PyTorch). */
  readonly count_include_pad?: boolean
  /** Fixed divisor instead of the window size (1 = sum pooling); default none. Not in PyTorch's AvgPool1d. */
  readonly divisor_override?: number | null
}

const avgPoolFns = [avgPool1d, avgPool2d, avgPool3d] as const

/** Average pooling over 1-3 spatial dims (torch.nn.AvgPool1d/2d/3d). */
export abstract class AvgPoolNd extends PoolLayer {
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[]
  readonly ceilMode: boolean
  readonly countIncludePad: boolean
  readonly divisorOverride: number | null

  protected constructor(dims: SpatialDims, kernelSize: SpatialArg, options: AvgPoolLayerOptions) {
    super("AvgPool", dims)
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, dims, "stride")
    this.padding = spatial(options.padding ?? 0, dims, "padding", 0)
    this.ceilMode = options.ceil_mode ?? false
    this.countIncludePad = options.count_include_pad ?? true
    this.divisorOverride = options.divisor_override ?? null
  }

  /** Adds the average pooling of `x` (N, C, *spatial) or unbatched (C, *spatial). */
  forward(x: Value): Value {
    return avgPoolFns[this.dims - 1](x, {
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      ceil_mode: this.ceilMode,
      count_include_pad: this.countIncludePad,
      divisor_override: this.divisorOverride,
    })
  }

  /** The one-line PyTorch repr `summary` shows, e.g. `AvgPool2d(kernel_size=...)`. */
  describe(): string {
    const extra = [
      this.padding.some((p) => p !== 0) ? `, padding=${show(this.padding)}` : "",
      this.ceilMode ? ", ceil_mode=True" : "",
      this.countIncludePad ? "" : ", count_include_pad=False",
      this.divisorOverride !== null ? `, divisor_override=${this.divisorOverride}` : "",
    ].join("")
    return `${this.type}(kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}${extra})`
  }
}

/** 1-d average pooling (torch.nn.AvgPool1d). @example new AvgPool1d(3, { stride: 2 }) */
export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: SpatialArg, options: AvgPoolLayerOptions = {}) {
    super(1, kernelSize, options)
  }
}

/**
 * 2-d average pooling (torch.nn.AvgPool2d).
 *
 * @example
 * new AvgPool2d(2, { stride: 2 })
 */
export class AvgPool2d extends AvgPoolNd {
  constructor(kernelSize: SpatialArg, options: AvgPoolLayerOptions = {}) {
    super(2, kernelSize, options)
  }
}

/** 3-d average pooling (torch.nn.AvgPool3d). @example new AvgPool3d(2, { ceil_mode: true }) */
export class AvgPool3d extends AvgPoolNd {
  constructor(kernelSize: SpatialArg, options: AvgPoolLayerOptions = {}) {
    super(3, kernelSize, options)
  }
}

// ---------------------------------------------------------------- power-average pooling

/** Options of {@link LPPool2d} and its 1d/3d siblings, as torch.nn.LPPool2d's keyword arguments. */
export interface LPPoolLayerOptions {
  /** Default: kernel_size. */
  readonly stride?: SpatialArg
  readonly ceil_mode?: boolean
}

const lpPoolFns = [lpPool1d, lpPool2d, lpPool3d] as const

/**
 * Power-average pooling (torch.nn.LPPool1d/2d): (sum over the window of x^p)^(1/p), with
 * p = norm_type. PyTorch has no LPPool3d in 1.13; the op exists, so {@link LPPool3d} does too.
 */
export abstract class LPPoolNd extends PoolLayer {
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly ceilMode: boolean

  protected constructor(
    dims: SpatialDims,
    readonly normType: number,
    kernelSize: SpatialArg,
    options: LPPoolLayerOptions,
  ) {
    super("LPPool", dims)
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, dims, "stride")
    this.ceilMode = options.ceil_mode ?? false
  }

  /** Adds the power-average pooling of `x` (N, C, *spatial) or unbatched (C, *spatial). */
  forward(x: Value): Value {
    return lpPoolFns[this.dims - 1](x, { norm_type: this.normType, kernel_size: [...this.kernelSize], stride: [...this.stride], ceil_mode: this.ceilMode })
  }

  /** The one-line PyTorch repr `summary` shows, e.g. `LPPool2d(norm_type=2, kernel_size=...)`. */
  describe(): string {
    return `${this.type}(norm_type=${this.normType}, kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}${this.ceilMode ? ", ceil_mode=True" : ""})`
  }
}

/** torch.nn.LPPool1d(norm_type, kernel_size). @example new LPPool1d(2, 3) */
export class LPPool1d extends LPPoolNd {
  constructor(normType: number, kernelSize: SpatialArg, options: LPPoolLayerOptions = {}) {
    super(1, normType, kernelSize, options)
  }
}

/** torch.nn.LPPool2d(norm_type, kernel_size). @example new LPPool2d(2, 2) // root of the sum of squares per 2x2 */
export class LPPool2d extends LPPoolNd {
  constructor(normType: number, kernelSize: SpatialArg, options: LPPoolLayerOptions = {}) {
    super(2, normType, kernelSize, options)
  }
}

/** LPPool over 3 spatial dims (torch.nn.LPPool3d in PyTorch >= 2.2). @example new LPPool3d(1, 2) */
export class LPPool3d extends LPPoolNd {
  constructor(normType: number, kernelSize: SpatialArg, options: LPPoolLayerOptions = {}) {
    super(3, normType, kernelSize, options)
  }
}

// ---------------------------------------------------------------- adaptive pooling

function adaptiveSize(v: AdaptiveSize, dims: number): (number | null)[] {
  if (typeof v !== "number" && Array.isArray(v) && v.every((e) => e === null || typeof e === "number")) {
    // null keeps that input size (PyTorch's None); validate the numbers like any spatial arg
    spatial(v.map((e) => e ?? 1), dims, "output_size")
    return [...v]
  }
  return spatial(v as SpatialArg, dims, "output_size")
}
const showSize = (s: readonly (number | null)[]): string => `[${s.map((e) => e ?? "None").join(", ")}]`

const adaptiveAvgFns = [adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d] as const

/**
 * Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool1d/2d/3d): bin
 * i of O over L covers [floor(i L / O), ceil((i + 1) L / O)). An entry null keeps that
 * input size.
 */
export abstract class AdaptiveAvgPoolNd extends PoolLayer {
  readonly outputSize: readonly (number | null)[]
  protected constructor(dims: SpatialDims, outputSize: AdaptiveSize) {
    super("AdaptiveAvgPool", dims)
    this.outputSize = adaptiveSize(outputSize, dims)
  }
  /** Adds the adaptive average pooling of `x` to `outputSize`. */
  forward(x: Value): Value {
    return adaptiveAvgFns[this.dims - 1](x, [...this.outputSize])
  }
  /** The one-line PyTorch repr `summary` shows, e.g. `AdaptiveAvgPool2d(output_size=...)`. */
  describe(): string {
    return `${this.type}(output_size=${showSize(this.outputSize)})`
  }
}

/** torch.nn.AdaptiveAvgPool1d. @example new AdaptiveAvgPool1d(4) */
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(1, outputSize)
  }
}

/**
 * torch.nn.AdaptiveAvgPool2d.
 *
 * @example
 * new AdaptiveAvgPool2d([6, 6]) // any HxW -> 6x6
 */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(2, outputSize)
  }
}

/** torch.nn.AdaptiveAvgPool3d. @example new AdaptiveAvgPool3d([1, 7, 7]) */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(3, outputSize)
  }
}

/** Options of AdaptiveMaxPool beside output_size (gradient conventions; PyTorch's by default). */
export interface AdaptiveMaxPoolLayerOptions {
  readonly tie?: TiePolicy
  readonly nan?: NanPolicy
}

const adaptiveMaxFns = [adaptiveMaxPool1dWithIndices, adaptiveMaxPool2dWithIndices, adaptiveMaxPool3dWithIndices] as const

/** Adaptive max pooling (torch.nn.AdaptiveMaxPool1d/2d/3d); `withIndices` is `return_indices=True`. */
export abstract class AdaptiveMaxPoolNd extends PoolLayer {
  readonly outputSize: readonly (number | null)[]
  readonly tie: TiePolicy
  readonly nan: NanPolicy
  protected constructor(dims: SpatialDims, outputSize: AdaptiveSize, options: AdaptiveMaxPoolLayerOptions) {
    super("AdaptiveMaxPool", dims)
    this.outputSize = adaptiveSize(outputSize, dims)
    this.tie = options.tie ?? "first"
    this.nan = options.nan ?? "propagate"
  }
  /** The pooled values and their argmax (flat index into each plane). */
  withIndices(x: Value): PoolWithIndices {
    return adaptiveMaxFns[this.dims - 1](x, [...this.outputSize], { tie: this.tie, nan: this.nan })
  }
  /** Adds the adaptive max pooling of `x` to `outputSize` (values only; see `withIndices`). */
  forward(x: Value): Value {
    return this.withIndices(x).y
  }
  /** The one-line PyTorch repr `summary` shows, e.g. `AdaptiveMaxPool2d(output_size=...)`. */
  describe(): string {
    return `${this.type}(output_size=${showSize(this.outputSize)}${this.tie !== "first" ? `, tie="${this.tie}"` : ""}${this.nan !== "propagate" ? `, nan="${this.nan}"` : ""})`
  }
}

/** torch.nn.AdaptiveMaxPool1d. @example new AdaptiveMaxPool1d(4) */
export class AdaptiveMaxPool1d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize, options: AdaptiveMaxPoolLayerOptions = {}) {
    super(1, outputSize, options)
  }
}

/** torch.nn.AdaptiveMaxPool2d. @example new AdaptiveMaxPool2d([3, 4]) */
export class AdaptiveMaxPool2d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize, options: AdaptiveMaxPoolLayerOptions = {}) {
    super(2, outputSize, options)
  }
}

/** torch.nn.AdaptiveMaxPool3d. @example new AdaptiveMaxPool3d(2) */
export class AdaptiveMaxPool3d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize, options: AdaptiveMaxPoolLayerOptions = {}) {
    super(3, outputSize, options)
  }
}

// ---------------------------------------------------------------- unpooling

/** Options of {@link MaxUnpool2d} and its 1d/3d siblings, as torch.nn.MaxUnpool2d's keyword arguments. */
export interface MaxUnpoolLayerOptions {
  /** Default: kernel_size. */
  readonly stride?: SpatialArg
  readonly padding?: SpatialArg
}

const unpoolFns = [maxUnpool1d, maxUnpool2d, maxUnpool3d] as const

/**
 * The partial inverse of max pooling (torch.nn.MaxUnpool1d/2d/3d): zero except at the
 * argmax positions of the matching MaxPool, which get the pooled values. It takes two
 * inputs, as PyTorch's `forward(input, indices, output_size=None)` does, so it is called
 * from a {@link Block}'s forward (`ctx.call(this.unpool, y, indices)`), not in a Sequential.
 */
export abstract class MaxUnpoolNd extends PoolLayer {
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[]
  protected constructor(dims: SpatialDims, kernelSize: SpatialArg, options: MaxUnpoolLayerOptions) {
    super("MaxUnpool", dims)
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, dims, "stride")
    this.padding = spatial(options.padding ?? 0, dims, "padding", 0)
  }
  /** Adds the unpooling of `x` at `indices` (from the matching max pool's `withIndices`); `outputSize` resolves an ambiguous size, as PyTorch's `output_size`. Throws a `GraphError` without `indices`. */
  forward(x: Value, _ctx?: ForwardContext, indices?: Value, outputSize?: readonly number[]): Value {
    if (indices === undefined) {
      throw new GraphError(`${this.type} needs the indices of its max pooling (expected ctx.call(unpool, x, indices) in a Block's forward; it cannot sit in a Sequential)`)
    }
    return unpoolFns[this.dims - 1](x, indices, {
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      output_size: outputSize === undefined ? null : [...outputSize],
    })
  }
  /** The one-line PyTorch repr `summary` shows, e.g. `MaxUnpool2d(kernel_size=...)`. */
  describe(): string {
    return `${this.type}(kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}, padding=${show(this.padding)})`
  }
}

/** torch.nn.MaxUnpool1d. @example new MaxUnpool1d(2) */
export class MaxUnpool1d extends MaxUnpoolNd {
  constructor(kernelSize: SpatialArg, options: MaxUnpoolLayerOptions = {}) {
    super(1, kernelSize, options)
  }
}

/**
 * torch.nn.MaxUnpool2d.
 *
 * @example
 * const { y, indices } = this.pool.withIndices(x)   // in a Block's forward
 * const up = ctx.call(this.unpool, y, indices)
 */
export class MaxUnpool2d extends MaxUnpoolNd {
  constructor(kernelSize: SpatialArg, options: MaxUnpoolLayerOptions = {}) {
    super(2, kernelSize, options)
  }
}

/** torch.nn.MaxUnpool3d. @example new MaxUnpool3d(2) */
export class MaxUnpool3d extends MaxUnpoolNd {
  constructor(kernelSize: SpatialArg, options: MaxUnpoolLayerOptions = {}) {
    super(3, kernelSize, options)
  }
}

/**
 * Global average pooling (Keras GlobalAveragePooling2D): the mean over H and W, giving
 * [N, C] directly (equal to AdaptiveAvgPool2d(1) followed by Flatten).
 *
 * @example
 * new GlobalAvgPool2d() // [N, 64, 7, 7] -> [N, 64]
 */
export class GlobalAvgPool2d implements Module {
  readonly type = "GlobalAvgPool2d"
  readonly params: readonly ParamSpec[] = []
  forward(x: Value): Value {
    if (x.rank !== 4) throw new ShapeError(`GlobalAvgPool2d got input of shape ${showShape(x.shape)} (expected NCHW, rank 4)`)
    return mean(x, [2, 3])
  }
  describe(): string {
    return "GlobalAvgPool2d()"
  }
}
