/**
 * conv_transpose1d/2d/3d: the adjoint of a convolution. With C the convolution whose
 * weight is this op's weight (C_in, C_out/groups, *k) read as (C_out_conv, C_in_conv/groups,
 * *k), conv_transpose(x, w) = Bx(x, w), the input gradient of C, on an output of size
 *
 *     (L - 1)*s - 2p + d*(k - 1) + output_padding + 1      per spatial dim
 *
 * Its gradients are therefore C itself (for x) and Bw with the roles of x and gy swapped
 * (for w), see convolution.ts for the identity.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import { convBackwardInput } from "../../kernels/conv/conv.ts"
import { sizeOf } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { biasFlag, checkBias, convProblem } from "./geometry.ts"
import { biasGrad, convBackwardWeightOf, convolve, floatData, outputSizeFor } from "./convolution.ts"
import { positiveInteger, spatialParam, type SpatialParam } from "../attrs.ts"

/** Normalised attrs of conv_transpose1d/2d/3d (one entry per spatial dim; `bias` is the optional flag saying whether a bias input is present). */
export type ConvTransposeAttrs = {
  stride: number[]
  padding: number[]
  output_padding: number[]
  groups: number
  dilation: number[]
  bias: boolean | null
}

/** Attrs of conv_transpose1d/2d/3d as given (PyTorch's keyword arguments): an int or one per spatial dim, defaults stride 1, padding 0, output_padding 0, groups 1, dilation 1. */
export type RawConvTransposeAttrs = {
  stride?: SpatialParam
  padding?: SpatialParam
  output_padding?: SpatialParam
  groups?: number
  dilation?: SpatialParam
  bias?: boolean | null
}

function convTransposeAttrs(raw: RawConvTransposeAttrs, dims: number): ConvTransposeAttrs {
  const stride = spatialParam(raw.stride, dims, "stride", 1, 1)
  const dilation = spatialParam(raw.dilation, dims, "dilation", 1, 1)
  const outputPadding = spatialParam(raw.output_padding, dims, "output_padding", 0, 0)
  outputPadding.forEach((op, i) => {
    // PyTorch: "output padding must be smaller than either stride or dilation".
    if (op >= Math.max(stride[i], dilation[i])) {
      throw new AttrError(`output_padding = ${JSON.stringify(outputPadding)} with stride ${JSON.stringify(stride)} and dilation ${JSON.stringify(dilation)} (expected output_padding < max(stride, dilation) in every dim)`)
    }
  })
  if (typeof raw.padding === "string") throw new AttrError(`padding = ${JSON.stringify(raw.padding)} (expected integers >= 0; conv_transpose has no string padding)`)
  return {
    stride,
    padding: spatialParam(raw.padding, dims, "padding", 0, 0),
    output_padding: outputPadding,
    groups: positiveInteger(raw.groups, "groups", 1),
    dilation,
    bias: biasFlag(raw.bias),
  }
}

/** (L - 1)*s - 2p + d*(k - 1) + output_padding + 1 per dim. */
export function convTransposeOutputSize(inSize: readonly number[], kernel: readonly number[], a: ConvTransposeAttrs): number[] {
  return inSize.map((L, i) => {
    const out = (L - 1) * a.stride[i] - 2 * a.padding[i] + a.dilation[i] * (kernel[i] - 1) + a.output_padding[i] + 1
    if (out < 1) throw new ShapeError(`output size ${out} in spatial dim ${i} (expected (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1 >= 1; padding is too large)`)
    return out
  })
}

const convParams = (a: ConvTransposeAttrs) => ({ stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups })

function makeConvTranspose(dims: 1 | 2 | 3) {
  return defineOp({
    name: `conv_transpose${dims}d`,
    doc: `${dims}-d transposed convolution (the adjoint of conv${dims}d), with output_padding`,
    inputs: ["x", "weight"],
    optionalInputs: ["bias"],
    outputs: ["y"],
    attrs: (raw: RawConvTransposeAttrs): ConvTransposeAttrs => convTransposeAttrs(raw, dims),
    infer: ({ x, weight, bias }, a) => {
      if (x.dtype === "int32" || weight.dtype === "int32") throw new ShapeError("x and weight must be float tensors (expected float32 or float64)")
      if (x.shape.length !== dims + 2) throw new ShapeError(`x ${showShape(x.shape)} has rank ${x.shape.length} (expected rank ${dims + 2}: (N, C_in, *spatial))`)
      if (weight.shape.length !== dims + 2) throw new ShapeError(`weight ${showShape(weight.shape)} has rank ${weight.shape.length} (expected rank ${dims + 2}: (C_in, C_out / groups, *kernel))`)
      const cin = x.shape[1]
      // as conv: PyTorch rejects an empty kernel and a weight with no elements
      if (cin < 1) throw new ShapeError(`x ${showShape(x.shape)} has 0 channels (expected at least one input channel)`)
      if (weight.shape[1] < 1) throw new ShapeError(`weight ${showShape(weight.shape)} has 0 output channels per group (expected weight.shape[1] >= 1)`)
      for (let i = 2; i < weight.shape.length; i++) {
        if (weight.shape[i] < 1) throw new ShapeError(`weight ${showShape(weight.shape)} has an empty kernel (expected kernel sizes >= 1)`)
      }
      if (cin % a.groups !== 0) throw new ShapeError(`${cin} input channels are not divisible by groups = ${a.groups} (expected C_in % groups == 0)`)
      if (weight.shape[0] !== cin) throw new ShapeError(`x has ${cin} channels but weight ${showShape(weight.shape)} takes ${weight.shape[0]} (expected C_in = weight.shape[0])`)
      const cout = weight.shape[1] * a.groups
      checkBias(bias, cout, a.bias)
      const out = convTransposeOutputSize(x.shape.slice(2), weight.shape.slice(2), a)
      return { y: { shape: [x.shape[0], cout, ...out], dtype: x.dtype } }
    },
    kernel: ({ inputs: { x, weight, bias }, outputs: { y }, attrs }) => {
      const yd = floatData(y)
      convBackwardInput(floatData(x), floatData(weight), yd, convProblem(y.shape, weight.shape, x.shape.slice(2), convParams(attrs)))
      if (bias !== undefined) {
        const plane = sizeOf(y.shape.slice(2))
        const channels = y.shape[1]
        for (let n = 0; n < y.shape[0]; n++) {
          for (let c = 0; c < channels; c++) {
            const b = bias.data[c]
            const start = (n * channels + c) * plane
            for (let i = start; i < start + plane; i++) yd[i] += b
          }
        }
      }
    },
    grad: ({ inputs: { x, weight, bias }, grads: { y: gy }, attrs, needsGrad }) => {
      const p = convParams(attrs)
      const kernel = weight.shape.slice(2)
      return {
        // output_size: with output_padding >= stride (possible when dilation > stride) the
        // convolution of gy has more positions than x; the extra ones are cut off.
        x: needsGrad("x") ? convolve(gy!, weight, undefined, { ...p, output_size: outputSizeFor(gy!.shape.slice(2), kernel, p, x.shape.slice(2)) }) : undefined,
        weight: needsGrad("weight") ? convBackwardWeightOf(x, gy!, { ...p, kernel_size: kernel }) : undefined,
        bias: bias !== undefined && needsGrad("bias") ? biasGrad(gy!) : undefined,
      }
    },
  })
}

/** The conv_transpose1d op record (torch.nn.functional.conv_transpose1d): inputs `x`, `weight` and optional `bias`, output `y` (see {@link convTranspose1d}). */
export const convTranspose1dOp = makeConvTranspose(1)
/** The conv_transpose2d op record (torch.nn.functional.conv_transpose2d): inputs `x`, `weight` and optional `bias`, output `y` (see {@link convTranspose2d}). */
export const convTranspose2dOp = makeConvTranspose(2)
/** The conv_transpose3d op record (torch.nn.functional.conv_transpose3d): inputs `x`, `weight` and optional `bias`, output `y` (see {@link convTranspose3d}). */
export const convTranspose3dOp = makeConvTranspose(3)
