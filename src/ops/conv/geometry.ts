/**
 * Attribute normalisation and shape rules shared by the convolution ops: PyTorch's call
 * forms in (an int or a tuple per spatial param, "same"/"valid" padding), one array entry
 * per spatial dim out, and the output-size formula with its error messages.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { convGeometry, type ConvGeometry } from "../../kernels/conv/im2col.ts"
import type { ConvProblem } from "../../kernels/conv/problem.ts"
import type { Shape } from "../../tensor/shape.ts"
import { positiveInteger, requireFloat, spatialParam, type SpatialParam } from "../attrs.ts"

/** An int for every spatial dim, or one int for all of them (PyTorch's `_ntuple`). */

/** Normalised attrs of conv1d/2d/3d (and, with input/kernel sizes, of their backward ops). */
export type ConvAttrs = {
  stride: number[]
  /** Per-dim symmetric padding, or "same" (resolved against the kernel size at infer). */
  padding: number[] | "same"
  dilation: number[]
  groups: number
  /** The golden files' flag saying whether a bias input is present; validated when given. */
  bias: boolean | null
  /**
   * Computes only the first output_size positions per dim (null: all). Used by the
   * gradient of conv_transpose when output_padding >= stride adds outputs no input reaches.
   */
  output_size: number[] | null
}

/** Attrs of conv1d/2d/3d as given (PyTorch's keyword arguments), before normalisation into {@link ConvAttrs}. */
export type RawConvAttrs = {
  stride?: SpatialParam
  padding?: SpatialParam | "same" | "valid"
  dilation?: SpatialParam
  groups?: number
  bias?: boolean | null
  output_size?: readonly number[] | null
}



export function biasFlag(v: unknown): boolean | null {
  if (v === undefined || v === null) return null
  if (typeof v !== "boolean") throw new AttrError(`bias = ${JSON.stringify(v)} (expected a boolean)`)
  return v
}

export function convAttrs(raw: RawConvAttrs, dims: number): ConvAttrs {
  const stride = spatialParam(raw.stride, dims, "stride", 1, 1)
  const dilation = spatialParam(raw.dilation, dims, "dilation", 1, 1)
  let padding: number[] | "same"
  if (raw.padding === "same") {
    // PyTorch: "padding='same' is not supported for strided convolutions".
    if (stride.some((s) => s !== 1)) throw new AttrError(`padding = "same" with stride ${JSON.stringify(stride)} (expected stride 1 for "same" padding)`)
    padding = "same"
  } else if (raw.padding === "valid") padding = new Array<number>(dims).fill(0)
  else if (typeof raw.padding === "string") throw new AttrError(`padding = ${JSON.stringify(raw.padding)} (expected "same", "valid", or integers >= 0)`)
  else padding = spatialParam(raw.padding, dims, "padding", 0, 0)
  const outputSize = raw.output_size === undefined || raw.output_size === null ? null : spatialParam(raw.output_size, dims, "output_size", 1, 1)
  return { stride, padding, dilation, groups: positiveInteger(raw.groups, "groups", 1), bias: biasFlag(raw.bias), output_size: outputSize }
}

/**
 * Zeros before and after the input per dim. "same" pads d*(k-1) in total, total//2 before
 * and the rest after (one more after when the total is odd), as PyTorch does.
 */
export function resolvePadding(padding: number[] | "same", kernel: Shape, dilation: readonly number[]): { lo: number[]; hi: number[] } {
  if (padding === "same") {
    const total = kernel.map((k, i) => dilation[i] * (k - 1))
    const lo = total.map((t) => Math.floor(t / 2))
    return { lo, hi: total.map((t, i) => t - lo[i]) }
  }
  return { lo: [...padding], hi: [...padding] }
}

/** floor((L + lo + hi - d*(k-1) - 1) / s) + 1 per dim; throws when the kernel does not fit. */
export function convOutputSize(inSize: Shape, kernel: Shape, a: { stride: number[]; dilation: number[]; padding: number[] | "same" }): number[] {
  const { lo, hi } = resolvePadding(a.padding, kernel, a.dilation)
  return inSize.map((L, i) => {
    const extent = a.dilation[i] * (kernel[i] - 1) + 1
    const padded = L + lo[i] + hi[i]
    if (padded < extent) {
      throw new ShapeError(
        `kernel extent ${extent} (size ${kernel[i]}, dilation ${a.dilation[i]}) exceeds the padded input size ${padded} in spatial dim ${i} (expected dilation*(kernel-1)+1 <= input + padding)`,
      )
    }
    return Math.floor((padded - extent) / a.stride[i]) + 1
  })
}

/** Checks ranks, dtypes and channel counts of x (N, C_in, *in) and weight (C_out, C_in/groups, *k). */
export function checkConvOperands(x: TensorSpec, weight: TensorSpec, groups: number, dims: number, xName = "x"): void {
  requireFloat(x, xName)
  requireFloat(weight, "weight")
  const layout = ["D", "H", "W"].slice(3 - dims).join(", ")
  if (x.shape.length !== dims + 2) throw new ShapeError(`${xName} ${showShape(x.shape)} has rank ${x.shape.length} (expected rank ${dims + 2}: (N, C, ${layout}))`)
  if (weight.shape.length !== dims + 2) {
    throw new ShapeError(`weight ${showShape(weight.shape)} has rank ${weight.shape.length} (expected rank ${dims + 2}: (C_out, C_in / groups, ${layout.replace(/[DHW]/g, (c) => "k" + c)}))`)
  }
  const cin = x.shape[1]
  const cout = weight.shape[0]
  // PyTorch rejects C_out = 0 ("expected weight to be at least 1 at dimension 0"); for
  // C_in = 0 PyTorch 1.13 returns an output with 0 channels instead of C_out zeros, a shape
  // no formula gives, so dagrad rejects it too.
  if (cout < 1) throw new ShapeError(`weight ${showShape(weight.shape)} has 0 output channels (expected weight.shape[0] >= 1)`)
  if (cin < 1) throw new ShapeError(`${xName} ${showShape(x.shape)} has 0 channels (expected at least one input channel)`)
  if (cin % groups !== 0) throw new ShapeError(`${cin} input channels are not divisible by groups = ${groups} (expected C_in % groups == 0)`)
  if (cout % groups !== 0) throw new ShapeError(`${cout} output channels (weight.shape[0]) are not divisible by groups = ${groups} (expected C_out % groups == 0)`)
  if (weight.shape[1] * groups !== cin) {
    throw new ShapeError(
      `${xName} has ${cin} channels but weight ${showShape(weight.shape)} with groups = ${groups} takes ${weight.shape[1] * groups} (expected C_in = weight.shape[1] * groups)`,
    )
  }
  for (let i = 2; i < weight.shape.length; i++) {
    if (weight.shape[i] < 1) throw new ShapeError(`weight ${showShape(weight.shape)} has an empty kernel (expected kernel sizes >= 1)`)
  }
}

export function checkBias(bias: TensorSpec | undefined, channels: number, flag: boolean | null): void {
  if (bias !== undefined) {
    requireFloat(bias, "bias")
    if (bias.shape.length !== 1 || bias.shape[0] !== channels) throw new ShapeError(`bias ${showShape(bias.shape)} (expected [${channels}], one per output channel)`)
  }
  if (flag === true && bias === undefined) throw new ShapeError("attr bias = true but no bias input was given (expected a bias of shape [C_out])")
  if (flag === false && bias !== undefined) throw new ShapeError("attr bias = false but a bias input was given (expected none)")
}

/** Output sizes: the natural ones, or output_size when given (which must not exceed them). */
export function convOutputShape(inSize: Shape, kernel: Shape, a: ConvAttrs): number[] {
  const natural = convOutputSize(inSize, kernel, a)
  if (a.output_size === null) return natural
  if (a.output_size.some((o, i) => o > natural[i])) {
    throw new ShapeError(`output_size ${showShape(a.output_size)} exceeds the convolution's output ${showShape(natural)} (expected at most that)`)
  }
  return a.output_size
}

/** The kernel-level description of conv(x, weight) with output spatial sizes `out`. */
export function convProblem(xShape: Shape, weightShape: Shape, out: Shape, a: { stride: number[]; dilation: number[]; padding: number[] | "same"; groups: number }): ConvProblem {
  const kernel = weightShape.slice(2)
  const { lo } = resolvePadding(a.padding, kernel, a.dilation)
  return {
    batch: xShape[0],
    inChannels: xShape[1],
    outChannels: weightShape[0],
    groups: a.groups,
    geometry: convGeometry(xShape.slice(2), out, kernel, a.stride, a.dilation, lo),
  }
}

export type { ConvGeometry }
