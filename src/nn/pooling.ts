import { ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from "../ops/pool/index.ts"
import type { NanPolicy, TiePolicy } from "../ops/pool/geometry.ts"
import { mean } from "../ops/reduce/index.ts"
import { spatial, type SpatialArg } from "./layers.ts"
import type { Module, ParamSpec } from "./module.ts"

const show = (xs: readonly number[]): string => `[${xs.join(", ")}]`

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

/**
 * 2-d max pooling (torch.nn.MaxPool2d). In a training graph the op's argmax (`indices`)
 * is an output edge the backward node reads; an inference graph never asks for it, so it
 * is not computed.
 *
 * @example
 * new MaxPool2d(2) // [N, 6, 28, 28] -> [N, 6, 14, 14]
 */
export class MaxPool2d implements Module {
  readonly type = "MaxPool2d"
  readonly params: readonly ParamSpec[] = []
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[]
  readonly dilation: readonly number[]
  readonly ceilMode: boolean
  readonly tie: TiePolicy
  readonly nan: NanPolicy

  constructor(kernelSize: SpatialArg, options: MaxPoolLayerOptions = {}) {
    this.kernelSize = spatial(kernelSize, 2, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, 2, "stride")
    this.padding = spatial(options.padding ?? 0, 2, "padding", 0)
    this.dilation = spatial(options.dilation ?? 1, 2, "dilation")
    this.ceilMode = options.ceil_mode ?? false
    this.tie = options.tie ?? "first"
    this.nan = options.nan ?? "propagate"
  }

  forward(x: Value): Value {
    return maxPool2d(x, {
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      dilation: [...this.dilation],
      ceil_mode: this.ceilMode,
      tie: this.tie,
      nan: this.nan,
    })
  }

  describe(): string {
    const extra = [
      this.padding.some((p) => p !== 0) ? `, padding=${show(this.padding)}` : "",
      this.dilation.some((d) => d !== 1) ? `, dilation=${show(this.dilation)}` : "",
      this.ceilMode ? ", ceil_mode=True" : "",
      this.tie !== "first" ? `, tie="${this.tie}"` : "",
      this.nan !== "propagate" ? `, nan="${this.nan}"` : "",
    ].join("")
    return `MaxPool2d(kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}${extra})`
  }
}

/** Options of {@link AvgPool2d}, as torch.nn.AvgPool2d's keyword arguments. */
export interface AvgPoolLayerOptions {
  /** Default: kernel_size. */
  readonly stride?: SpatialArg
  readonly padding?: SpatialArg
  readonly ceil_mode?: boolean
  /** Count padded zeros in the divisor (default true, as PyTorch). */
  readonly count_include_pad?: boolean
  /** Fixed divisor instead of the window size (1 = sum pooling); default none. */
  readonly divisor_override?: number | null
}

/**
 * 2-d average pooling (torch.nn.AvgPool2d).
 *
 * @example
 * new AvgPool2d(2, { stride: 2 })
 */
export class AvgPool2d implements Module {
  readonly type = "AvgPool2d"
  readonly params: readonly ParamSpec[] = []
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[]
  readonly ceilMode: boolean
  readonly countIncludePad: boolean
  readonly divisorOverride: number | null

  constructor(kernelSize: SpatialArg, options: AvgPoolLayerOptions = {}) {
    this.kernelSize = spatial(kernelSize, 2, "kernel_size")
    this.stride = spatial(options.stride ?? this.kernelSize, 2, "stride")
    this.padding = spatial(options.padding ?? 0, 2, "padding", 0)
    this.ceilMode = options.ceil_mode ?? false
    this.countIncludePad = options.count_include_pad ?? true
    this.divisorOverride = options.divisor_override ?? null
  }

  forward(x: Value): Value {
    return avgPool2d(x, {
      kernel_size: [...this.kernelSize],
      stride: [...this.stride],
      padding: [...this.padding],
      ceil_mode: this.ceilMode,
      count_include_pad: this.countIncludePad,
      divisor_override: this.divisorOverride,
    })
  }

  describe(): string {
    const extra = [
      this.padding.some((p) => p !== 0) ? `, padding=${show(this.padding)}` : "",
      this.ceilMode ? ", ceil_mode=True" : "",
      this.countIncludePad ? "" : ", count_include_pad=False",
      this.divisorOverride !== null ? `, divisor_override=${this.divisorOverride}` : "",
    ].join("")
    return `AvgPool2d(kernel_size=${show(this.kernelSize)}, stride=${show(this.stride)}${extra})`
  }
}

/**
 * Adaptive average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d): bin i of
 * O over an input of L covers [floor(i L / O), ceil((i + 1) L / O)).
 *
 * @example
 * new AdaptiveAvgPool2d([6, 6]) // any HxW -> 6x6
 */
export class AdaptiveAvgPool2d implements Module {
  readonly type = "AdaptiveAvgPool2d"
  readonly params: readonly ParamSpec[] = []
  readonly outputSize: readonly number[]
  constructor(outputSize: SpatialArg) {
    this.outputSize = spatial(outputSize, 2, "output_size")
  }
  forward(x: Value): Value {
    return adaptiveAvgPool2d(x, [...this.outputSize])
  }
  describe(): string {
    return `AdaptiveAvgPool2d(output_size=${show(this.outputSize)})`
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
