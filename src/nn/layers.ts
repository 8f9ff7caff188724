import { AttrError } from "../errors.ts"
import { positiveInteger, spatialParam, type SpatialParam } from "../ops/attrs.ts"
import type { Value } from "../graph/builder.ts"
import { conv1d, conv2d } from "../ops/conv/index.ts"
import { linear } from "../ops/linalg/index.ts"
import { relu } from "../ops/pointwise/index.ts"
import { leakyRelu } from "../ops/pointwise/index.ts"
import { flatten } from "../ops/shape/index.ts"
import { defaultBiasInit, defaultWeightInit, fanInAndOut, type Initializer } from "./init.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

/** An int (same for every spatial dim) or one int per spatial dim, as PyTorch accepts. */
export type SpatialArg = SpatialParam

/** Resolves an int-or-tuple argument to one entry per spatial dim (ops/attrs.ts); AttrError if bad. */
export const spatial = (v: SpatialArg, dims: number, name: string, min = 1): number[] => spatialParam(v, dims, name, min)
const positiveInt = (v: unknown, name: string): number => positiveInteger(v, name)

const show = (xs: readonly number[]): string => `[${xs.join(", ")}]`

// ------------------------------------------------------------------------ convolution

/** Options of {@link Conv2d} and {@link Conv1d}, under PyTorch's names. */
export interface ConvLayerOptions {
  readonly stride?: SpatialArg
  /** Zero padding per side, or `"same"` (stride 1) / `"valid"` (= 0). */
  readonly padding?: SpatialArg | "same" | "valid"
  readonly dilation?: SpatialArg
  readonly groups?: number
  /** Learn an additive bias (default true). */
  readonly bias?: boolean
  /** Override the default kaiming_uniform(a = sqrt(5)) weight initialiser. */
  readonly weightInit?: Initializer
  /** Override the default U(+-1/sqrt(fan_in)) bias initialiser. */
  readonly biasInit?: Initializer
}

/** Shared by Conv1d and Conv2d: weight (C_out, C_in / groups, k...), bias (C_out). */
abstract class ConvNd implements Module {
  abstract readonly type: string
  readonly params: readonly ParamSpec[]
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly padding: readonly number[] | "same" | "valid"
  readonly dilation: readonly number[]
  readonly groups: number
  readonly bias: boolean

  constructor(
    dims: number,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: SpatialArg,
    options: ConvLayerOptions,
  ) {
    positiveInt(inChannels, "in_channels")
    positiveInt(outChannels, "out_channels")
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? 1, dims, "stride")
    const p = options.padding ?? 0
    this.padding = p === "same" || p === "valid" ? p : spatial(p, dims, "padding", 0)
    this.dilation = spatial(options.dilation ?? 1, dims, "dilation")
    this.groups = positiveInt(options.groups ?? 1, "groups")
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new AttrError(`in_channels ${inChannels} and out_channels ${outChannels} must both be divisible by groups ${this.groups}`)
    }
    if (this.padding === "same" && this.stride.some((s) => s !== 1)) {
      throw new AttrError(`padding 'same' needs stride 1 (got stride ${show(this.stride)})`)
    }
    this.bias = options.bias ?? true
    const weightShape = [outChannels, inChannels / this.groups, ...this.kernelSize]
    const { fanIn } = fanInAndOut(weightShape)
    const params: ParamSpec[] = [{ name: "weight", shape: weightShape, init: options.weightInit ?? defaultWeightInit, trainable: true }]
    if (this.bias) params.push({ name: "bias", shape: [outChannels], init: options.biasInit ?? defaultBiasInit(fanIn), trainable: true })
    this.params = params
  }

  /** The conv op's attrs (stride, padding, dilation, groups) from this layer's settings. */
  protected attrs(): { stride: number[]; padding: number[] | "same" | "valid"; dilation: number[]; groups: number } {
    const padding = typeof this.padding === "string" ? this.padding : [...this.padding]
    return { stride: [...this.stride], padding, dilation: [...this.dilation], groups: this.groups }
  }

  describe(): string {
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernel_size=${show(this.kernelSize)}`]
    if (this.stride.some((s) => s !== 1)) parts.push(`stride=${show(this.stride)}`)
    if (typeof this.padding === "string") parts.push(`padding='${this.padding}'`)
    else if (this.padding.some((p) => p !== 0)) parts.push(`padding=${show(this.padding)}`)
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${show(this.dilation)}`)
    if (this.groups !== 1) parts.push(`groups=${this.groups}`)
    if (!this.bias) parts.push("bias=False")
    return `${this.type}(${parts.join(", ")})`
  }

  /** Applies the convolution to `x` with this layer's `weight` (and `bias`) parameters. */
  abstract forward(x: Value, ctx: ForwardContext): Value
}

/**
 * 2-d convolution over NCHW input (torch.nn.Conv2d): parameters `weight`
 * (C_out, C_in / groups, kH, kW) and `bias` (C_out).
 *
 * @example
 * const conv1 = new Conv2d(1, 6, 5, { padding: 2 }) // 1x28x28 -> 6x28x28, 156 parameters
 */
export class Conv2d extends ConvNd {
  readonly type = "Conv2d"
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options)
  }
  forward(x: Value, ctx: ForwardContext): Value {
    return conv2d(x, ctx.param("weight"), this.bias ? ctx.param("bias") : undefined, this.attrs())
  }
}

/**
 * 1-d convolution over NCL input (torch.nn.Conv1d): `weight` (C_out, C_in / groups, k),
 * `bias` (C_out).
 *
 * @example
 * const conv = new Conv1d(3, 8, 5, { padding: "same" })
 */
export class Conv1d extends ConvNd {
  readonly type = "Conv1d"
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options)
  }
  forward(x: Value, ctx: ForwardContext): Value {
    return conv1d(x, ctx.param("weight"), this.bias ? ctx.param("bias") : undefined, this.attrs())
  }
}

// ------------------------------------------------------------------------------ linear

/** Options of {@link Linear}: whether it has a bias (default true) and how its parameters are initialised. */
export interface LinearLayerOptions {
  readonly bias?: boolean
  readonly weightInit?: Initializer
  readonly biasInit?: Initializer
}

/**
 * y = x W^T + b (torch.nn.Linear): `weight` (out_features, in_features), `bias`
 * (out_features). The input's last dim must be in_features.
 *
 * @example
 * const fc = new Linear(400, 120) // 48,120 parameters
 */
export class Linear implements Module {
  readonly type = "Linear"
  readonly params: readonly ParamSpec[]
  readonly bias: boolean

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearLayerOptions = {},
  ) {
    positiveInt(inFeatures, "in_features")
    positiveInt(outFeatures, "out_features")
    this.bias = options.bias ?? true
    const params: ParamSpec[] = [
      { name: "weight", shape: [outFeatures, inFeatures], init: options.weightInit ?? defaultWeightInit, trainable: true },
    ]
    if (this.bias) params.push({ name: "bias", shape: [outFeatures], init: options.biasInit ?? defaultBiasInit(inFeatures), trainable: true })
    this.params = params
  }

  forward(x: Value, ctx: ForwardContext): Value {
    return linear(x, ctx.param("weight"), this.bias ? ctx.param("bias") : undefined)
  }

  describe(): string {
    return `Linear(in_features=${this.inFeatures}, out_features=${this.outFeatures}${this.bias ? "" : ", bias=False"})`
  }
}

// ------------------------------------------------------------------ parameter-free layers

/**
 * torch.nn.Flatten: merges dims start_dim..end_dim. Note PyTorch's module default
 * start_dim = 1 (keeps the batch dim), unlike the function's 0.
 *
 * @example
 * new Flatten() // [N, 16, 5, 5] -> [N, 400]
 */
export class Flatten implements Module {
  readonly type = "Flatten"
  readonly params: readonly ParamSpec[] = []
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {}
  forward(x: Value): Value {
    return flatten(x, this.startDim, this.endDim)
  }
  describe(): string {
    return `Flatten(start_dim=${this.startDim}, end_dim=${this.endDim})`
  }
}

/** max(x, 0) (torch.nn.ReLU). @example new ReLU() */
export class ReLU implements Module {
  readonly type = "ReLU"
  readonly params: readonly ParamSpec[] = []
  forward(x: Value): Value {
    return relu(x)
  }
  describe(): string {
    return "ReLU()"
  }
}

/**
 * x if x > 0 else negative_slope * x (torch.nn.LeakyReLU, default slope 0.01).
 *
 * @example
 * new LeakyReLU(0.2)
 */
export class LeakyReLU implements Module {
  readonly type = "LeakyReLU"
  readonly params: readonly ParamSpec[] = []
  constructor(readonly negativeSlope = 0.01) {
    if (typeof negativeSlope !== "number" || !Number.isFinite(negativeSlope)) {
      throw new AttrError(`negative_slope = ${JSON.stringify(negativeSlope)} (expected a finite number)`)
    }
  }
  forward(x: Value): Value {
    return leakyRelu(x, this.negativeSlope)
  }
  describe(): string {
    return `LeakyReLU(negative_slope=${this.negativeSlope})`
  }
}
