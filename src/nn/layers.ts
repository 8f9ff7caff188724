import { AttrError } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d } from "../ops/conv/index.ts"
import { linear } from "../ops/linalg/index.ts"
import { leakyRelu, relu } from "../ops/pointwise/index.ts"
import { flatten } from "../ops/shape/index.ts"
import { defaultBiasInit, defaultWeightInit, fanInAndOut, type Initializer } from "./init.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"
import { positiveInteger, spatialParam, type SpatialParam } from "../ops/attrs.ts"

/** An int (same for every spatial dim) or one int per spatial dim, as PyTorch accepts. */
export type SpatialArg = SpatialParam

/** Resolves an int-or-tuple argument to one entry per spatial dim (ops/attrs.ts); AttrError if bad. */
export const spatial = (v: SpatialArg, dims: number, name: string, min = 1): number[] => spatialParam(v, dims, name, min)
const positiveInt = (v: unknown, name: string): number => positiveInteger(v, name)

const show = (xs: readonly number[]): string => `[${xs.join(", ")}]`

// ------------------------------------------------------------------------ convolution

/** Options of Conv1d/2d/3d, under PyTorch's names. */
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

/** Options of ConvTranspose1d/2d/3d, under PyTorch's names. */
export interface ConvTransposeLayerOptions {
  readonly stride?: SpatialArg
  /** Removed from each side of the output: dilation*(kernel_size-1) - padding zeros pad the input. */
  readonly padding?: SpatialArg
  /** Extra size added to one side of the output (< max(stride, dilation)). */
  readonly output_padding?: SpatialArg
  readonly groups?: number
  readonly bias?: boolean
  readonly dilation?: SpatialArg
  readonly weightInit?: Initializer
  readonly biasInit?: Initializer
}

type ConvFn = (x: Value, weight: Value, bias: Value | undefined, attrs: Record<string, unknown>) => Value
const convFns: readonly ConvFn[] = [conv1d, conv2d, conv3d]
const convTransposeFns: readonly ConvFn[] = [convTranspose1d, convTranspose2d, convTranspose3d]
type SpatialDims = 1 | 2 | 3

/**
 * Shared by every convolution layer. PyTorch's weight layout: (C_out, C_in / groups, k...)
 * for a convolution, (C_in, C_out / groups, k...) for a transposed one; bias (C_out). In
 * both, PyTorch's initialisers read fan_in from the weight's dim 1 times the kernel size.
 */
abstract class ConvLayer implements Module {
  readonly type: string
  readonly params: readonly ParamSpec[]
  readonly kernelSize: readonly number[]
  readonly stride: readonly number[]
  readonly dilation: readonly number[]
  readonly groups: number
  readonly bias: boolean

  protected constructor(
    readonly dims: SpatialDims,
    transposed: boolean,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: SpatialArg,
    options: ConvLayerOptions | ConvTransposeLayerOptions,
  ) {
    this.type = `Conv${transposed ? "Transpose" : ""}${dims}d`
    positiveInt(inChannels, "in_channels")
    positiveInt(outChannels, "out_channels")
    this.kernelSize = spatial(kernelSize, dims, "kernel_size")
    this.stride = spatial(options.stride ?? 1, dims, "stride")
    this.dilation = spatial(options.dilation ?? 1, dims, "dilation")
    this.groups = positiveInt(options.groups ?? 1, "groups")
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new AttrError(`in_channels ${inChannels} and out_channels ${outChannels} must both be divisible by groups ${this.groups}`)
    }
    this.bias = options.bias ?? true
    const weightShape = transposed ? [inChannels, outChannels / this.groups, ...this.kernelSize] : [outChannels, inChannels / this.groups, ...this.kernelSize]
    const { fanIn } = fanInAndOut(weightShape)
    const params: ParamSpec[] = [{ name: "weight", shape: weightShape, init: options.weightInit ?? defaultWeightInit, trainable: true }]
    if (this.bias) params.push({ name: "bias", shape: [outChannels], init: options.biasInit ?? defaultBiasInit(fanIn), trainable: true })
    this.params = params
  }

  /** The op attrs beyond stride/dilation/groups (padding, output_padding). */
  protected abstract extraAttrs(): Record<string, unknown>
  /** describe() parts beyond stride/dilation/groups/bias, in PyTorch's repr order. */
  protected abstract extraParts(): string[]
  protected abstract readonly fn: ConvFn

  forward(x: Value, ctx: ForwardContext): Value {
    const attrs = { stride: [...this.stride], dilation: [...this.dilation], groups: this.groups, ...this.extraAttrs() }
    return this.fn(x, ctx.param("weight"), this.bias ? ctx.param("bias") : undefined, attrs)
  }

  describe(): string {
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernel_size=${show(this.kernelSize)}`]
    if (this.stride.some((s) => s !== 1)) parts.push(`stride=${show(this.stride)}`)
    parts.push(...this.extraParts())
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${show(this.dilation)}`)
    if (this.groups !== 1) parts.push(`groups=${this.groups}`)
    if (!this.bias) parts.push("bias=False")
    return `${this.type}(${parts.join(", ")})`
  }
}

/** Shared by Conv1d/2d/3d: weight (C_out, C_in / groups, k...), bias (C_out). */
abstract class ConvNd extends ConvLayer {
  readonly padding: readonly number[] | "same" | "valid"
  protected readonly fn: ConvFn

  constructor(dims: SpatialDims, inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions) {
    super(dims, false, inChannels, outChannels, kernelSize, options)
    this.fn = convFns[dims - 1]
    const p = options.padding ?? 0
    this.padding = p === "same" || p === "valid" ? p : spatial(p, dims, "padding", 0)
    if (this.padding === "same" && this.stride.some((s) => s !== 1)) {
      throw new AttrError(`padding 'same' needs stride 1 (got stride ${show(this.stride)})`)
    }
  }

  protected extraAttrs(): Record<string, unknown> {
    return { padding: typeof this.padding === "string" ? this.padding : [...this.padding] }
  }

  protected extraParts(): string[] {
    if (typeof this.padding === "string") return [`padding='${this.padding}'`]
    return this.padding.some((p) => p !== 0) ? [`padding=${show(this.padding)}`] : []
  }
}

/**
 * 1-d convolution over (N, C, L) or unbatched (C, L) input (torch.nn.Conv1d): `weight`
 * (C_out, C_in / groups, k), `bias` (C_out).
 *
 * @example
 * const conv = new Conv1d(3, 8, 5, { padding: "same" })
 */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options)
  }
}

/**
 * 2-d convolution over NCHW or unbatched CHW input (torch.nn.Conv2d): parameters `weight`
 * (C_out, C_in / groups, kH, kW) and `bias` (C_out).
 *
 * @example
 * const conv1 = new Conv2d(1, 6, 5, { padding: 2 }) // 1x28x28 -> 6x28x28, 156 parameters
 */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options)
  }
}

/**
 * 3-d convolution over (N, C, D, H, W) or unbatched input (torch.nn.Conv3d): `weight`
 * (C_out, C_in / groups, kD, kH, kW), `bias` (C_out).
 *
 * @example
 * const conv = new Conv3d(1, 4, [1, 3, 3], { padding: [0, 1, 1] })
 */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options)
  }
}

/** Shared by ConvTranspose1d/2d/3d: weight (C_in, C_out / groups, k...), bias (C_out). */
abstract class ConvTransposeNd extends ConvLayer {
  readonly padding: readonly number[]
  readonly outputPadding: readonly number[]
  protected readonly fn: ConvFn

  constructor(dims: SpatialDims, inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvTransposeLayerOptions) {
    super(dims, true, inChannels, outChannels, kernelSize, options)
    this.fn = convTransposeFns[dims - 1]
    this.padding = spatial(options.padding ?? 0, dims, "padding", 0)
    this.outputPadding = spatial(options.output_padding ?? 0, dims, "output_padding", 0)
    this.outputPadding.forEach((op, i) => {
      if (op >= Math.max(this.stride[i], this.dilation[i])) {
        throw new AttrError(`output_padding = ${show(this.outputPadding)} (expected output_padding < max(stride, dilation) in every dim; stride ${show(this.stride)}, dilation ${show(this.dilation)})`)
      }
    })
  }

  protected extraAttrs(): Record<string, unknown> {
    return { padding: [...this.padding], output_padding: [...this.outputPadding] }
  }

  protected extraParts(): string[] {
    const parts: string[] = []
    if (this.padding.some((p) => p !== 0)) parts.push(`padding=${show(this.padding)}`)
    if (this.outputPadding.some((p) => p !== 0)) parts.push(`output_padding=${show(this.outputPadding)}`)
    return parts
  }
}

/**
 * 1-d transposed convolution (torch.nn.ConvTranspose1d): `weight` (C_in, C_out / groups, k),
 * `bias` (C_out); output length (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1.
 *
 * @example
 * const up = new ConvTranspose1d(8, 4, 4, { stride: 2, padding: 1 }) // L -> 2L
 */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvTransposeLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options)
  }
}

/**
 * 2-d transposed convolution (torch.nn.ConvTranspose2d): `weight` (C_in, C_out / groups, kH, kW),
 * `bias` (C_out).
 *
 * @example
 * const up = new ConvTranspose2d(16, 8, 2, { stride: 2 }) // 7x7 -> 14x14
 */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvTransposeLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options)
  }
}

/**
 * 3-d transposed convolution (torch.nn.ConvTranspose3d): `weight` (C_in, C_out / groups, kD, kH, kW),
 * `bias` (C_out).
 *
 * @example
 * const up = new ConvTranspose3d(4, 2, 2, { stride: 2 })
 */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SpatialArg, options: ConvTransposeLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options)
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
