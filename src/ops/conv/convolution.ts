/**
 * conv1d/2d/3d and their two backward ops, made by one factory per spatial rank over the
 * one N-d kernel (im2col + GEMM, src/kernels/conv/conv.ts).
 *
 * Gradients come from one identity. With C(x, w) the convolution, Bx(gy, w) its input
 * gradient and Bw(gy, x) its weight gradient, all three are bilinear and
 *
 *     <gy, C(x, w)> = <Bx(gy, w), x> = <Bw(gy, x), w>
 *
 * so every derivative of every one of them is another one of them:
 *   C:  dx = Bx(gy, w)          dw = Bw(gy, x)
 *   Bx: d gy = C(ggx, w)        dw = Bw(gy, ggx)
 *   Bw: d gy = C(x, ggw)        dx = Bx(gy, ggw)
 * which makes double backward (and any higher order) work with no extra kernels.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { convForward, convBackwardInput, convBackwardWeight } from "../../kernels/conv/conv.ts"
import type { FloatArray } from "../../tensor/dtype.ts"
import { sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { defineOp } from "../../graph/op.ts"
import { sum } from "../reduce/index.ts"
import { checkBias, checkConvOperands, convAttrs, convOutputShape, convOutputSize, convProblem, type ConvAttrs, type RawConvAttrs } from "./geometry.ts"
import { spatialParam } from "../attrs.ts"

export function floatData(t: Tensor): FloatArray {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return t.data
  throw new ShapeError(`expected a float tensor, got ${t.dtype}`)
}

/** The conv params every backward op carries (padding may still be "same"). */
type ConvParams = { stride: number[]; padding: number[] | "same"; dilation: number[]; groups: number }
export type ConvBackwardInputAttrs = ConvParams & { input_size: number[] }
export type ConvBackwardWeightAttrs = ConvParams & { kernel_size: number[] }
type RawParams = Omit<RawConvAttrs, "bias" | "output_size">

function params(a: ConvParams): ConvParams {
  return { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }
}

/** Sum of gy over the batch and spatial dims: the bias gradient. */
export const biasGrad = (gy: Value): Value => sum(gy, [0, ...gy.shape.slice(2).map((_, i) => i + 2)])

/** output_size for a conv whose result must have spatial sizes `want` (null when natural). */
export function outputSizeFor(inSize: Shape, kernel: Shape, a: ConvParams, want: Shape): number[] | null {
  return sameShape(convOutputSize(inSize, kernel, a), want) ? null : [...want]
}

/** Checks that gy's spatial sizes are what conv of `inSize` produces (or a prefix of it). */
function checkUpstream(gy: TensorSpec, inSize: Shape, kernel: Shape, a: ConvParams): void {
  const natural = convOutputSize(inSize, kernel, a)
  const got = gy.shape.slice(2)
  if (got.some((o, i) => o < 1 || o > natural[i])) {
    throw new ShapeError(`gy spatial sizes ${showShape(got)} do not fit a convolution output of ${showShape(natural)} (expected sizes in 1..that)`)
  }
}

function makeConv(dims: 1 | 2 | 3) {
  const forward = defineOp({
    name: `conv${dims}d`,
    doc: `${dims}-d convolution (cross-correlation) with stride, padding, dilation, groups`,
    inputs: ["x", "weight"],
    optionalInputs: ["bias"],
    outputs: ["y"],
    attrs: (raw: RawConvAttrs): ConvAttrs => convAttrs(raw, dims),
    infer: ({ x, weight, bias }, a) => {
      checkConvOperands(x, weight, a.groups, dims)
      checkBias(bias, weight.shape[0], a.bias)
      const out = convOutputShape(x.shape.slice(2), weight.shape.slice(2), a)
      return { y: { shape: [x.shape[0], weight.shape[0], ...out], dtype: x.dtype } }
    },
    kernel: ({ inputs: { x, weight, bias }, outputs: { y }, attrs, activation }) =>
      convForward(floatData(x), floatData(weight), bias && floatData(bias), floatData(y), convProblem(x.shape, weight.shape, y.shape.slice(2), attrs), activation === "relu"),
    overwritesOutputs: true,
    // a relu after the conv runs per sample inside the kernel (see Plan's fusion)
    activations: ["relu"],
    // multiply-adds: every output times C_in/groups x kernel taps
    cost: ({ weight }, { y }) => sizeOf(y.shape) * sizeOf(weight.shape.slice(1)),
    grad: ({ inputs: { x, weight, bias }, grads: { y: gy }, attrs, needsGrad }) => ({
      x: needsGrad("x") ? backwardInput(gy!, weight, { ...params(attrs), input_size: x.shape.slice(2) }) : undefined,
      weight: needsGrad("weight") ? backwardWeight(gy!, x, { ...params(attrs), kernel_size: weight.shape.slice(2) }) : undefined,
      bias: bias !== undefined && needsGrad("bias") ? biasGrad(gy!) : undefined,
    }),
  })

  const backwardInputOp = defineOp({
    name: `conv${dims}d_backward_input`,
    doc: `input gradient of conv${dims}d (a transposed convolution of gy)`,
    inputs: ["gy", "weight"],
    outputs: ["y"],
    attrs: (raw: RawParams & { input_size: readonly number[] }): ConvBackwardInputAttrs => ({
      ...params(convAttrs(raw, dims)),
      input_size: spatialParam(raw.input_size, dims, "input_size", 1, 1),
    }),
    infer: ({ gy, weight }, a) => {
      const cin = weight.shape[1] * a.groups
      checkConvOperands({ shape: [gy.shape[0], cin, ...a.input_size], dtype: gy.dtype }, weight, a.groups, dims, "the input")
      if (gy.shape.length !== dims + 2 || gy.shape[1] !== weight.shape[0]) {
        throw new ShapeError(`gy ${showShape(gy.shape)} (expected rank ${dims + 2} with ${weight.shape[0]} channels = weight.shape[0])`)
      }
      checkUpstream(gy, a.input_size, weight.shape.slice(2), a)
      return { y: { shape: [gy.shape[0], cin, ...a.input_size], dtype: gy.dtype } }
    },
    kernel: ({ inputs: { gy, weight }, outputs: { y }, attrs }) =>
      convBackwardInput(floatData(gy), floatData(weight), floatData(y), convProblem(y.shape, weight.shape, gy.shape.slice(2), attrs)),
    overwritesOutputs: true,
    cost: ({ gy, weight }) => sizeOf(gy.shape) * sizeOf(weight.shape.slice(1)),
    grad: ({ inputs: { gy, weight }, grads: { y: ggx }, attrs, needsGrad }) => ({
      gy: needsGrad("gy")
        ? convolve(ggx!, weight, undefined, { ...params(attrs), output_size: outputSizeFor(attrs.input_size, weight.shape.slice(2), attrs, gy.shape.slice(2)) })
        : undefined,
      weight: needsGrad("weight") ? backwardWeight(gy, ggx!, { ...params(attrs), kernel_size: weight.shape.slice(2) }) : undefined,
    }),
  })

  const backwardWeightOp = defineOp({
    name: `conv${dims}d_backward_weight`,
    doc: `weight gradient of conv${dims}d (gy correlated with x, summed over the batch)`,
    inputs: ["gy", "x"],
    outputs: ["y"],
    attrs: (raw: RawParams & { kernel_size: readonly number[] }): ConvBackwardWeightAttrs => ({
      ...params(convAttrs(raw, dims)),
      kernel_size: spatialParam(raw.kernel_size, dims, "kernel_size", 1, 1),
    }),
    infer: ({ gy, x }, a) => {
      if (gy.shape.length !== dims + 2 || x.shape.length !== dims + 2 || gy.shape[0] !== x.shape[0]) {
        throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} (expected both of rank ${dims + 2} with the same batch size)`)
      }
      const shape = [gy.shape[1], x.shape[1] / a.groups, ...a.kernel_size]
      if (!Number.isInteger(shape[1])) throw new ShapeError(`${x.shape[1]} input channels are not divisible by groups = ${a.groups} (expected C_in % groups == 0)`)
      checkConvOperands(x, { shape, dtype: x.dtype }, a.groups, dims)
      checkUpstream(gy, x.shape.slice(2), a.kernel_size, a)
      return { y: { shape, dtype: x.dtype } }
    },
    kernel: ({ inputs: { gy, x }, outputs: { y }, attrs }) =>
      convBackwardWeight(floatData(gy), floatData(x), floatData(y), convProblem(x.shape, y.shape, gy.shape.slice(2), attrs)),
    overwritesOutputs: true,
    cost: ({ gy }, { y }) => sizeOf(gy.shape) * sizeOf(y.shape.slice(1)),
    grad: ({ inputs: { gy, x }, grads: { y: ggw }, attrs, needsGrad }) => ({
      gy: needsGrad("gy")
        ? convolve(x, ggw!, undefined, { ...params(attrs), output_size: outputSizeFor(x.shape.slice(2), attrs.kernel_size, attrs, gy.shape.slice(2)) })
        : undefined,
      x: needsGrad("x") ? backwardInput(gy, ggw!, { ...params(attrs), input_size: x.shape.slice(2) }) : undefined,
    }),
  })
  return { forward, backwardInputOp, backwardWeightOp }
}

const conv1 = makeConv(1)
const conv2 = makeConv(2)
const conv3 = makeConv(3)
const byDims = { 1: conv1, 2: conv2, 3: conv3 } as const

function rankOf(weight: Value): 1 | 2 | 3 {
  const dims = weight.rank - 2
  if (dims !== 1 && dims !== 2 && dims !== 3) throw new ShapeError(`weight ${showShape(weight.shape)} (expected rank 3, 4 or 5 for a 1-, 2- or 3-d convolution)`)
  return dims
}

/** conv{1,2,3}d chosen by the weight's rank (used by gradient rules). */
export function convolve(x: Value, weight: Value, bias: Value | undefined, attrs: RawConvAttrs): Value {
  return x.builder.apply(byDims[rankOf(weight)].forward, { x, weight, bias }, attrs).y
}

function backwardInput(gy: Value, weight: Value, attrs: ConvBackwardInputAttrs): Value {
  return gy.builder.apply(byDims[rankOf(weight)].backwardInputOp, { gy, weight }, attrs).y
}

function backwardWeight(gy: Value, x: Value, attrs: ConvBackwardWeightAttrs): Value {
  const dims = x.rank - 2
  if (dims !== 1 && dims !== 2 && dims !== 3) throw new AttrError(`x ${showShape(x.shape)} (expected rank 3, 4 or 5)`)
  return gy.builder.apply(byDims[dims].backwardWeightOp, { gy, x }, attrs).y
}

export { backwardInput as convBackwardInputOf, backwardWeight as convBackwardWeightOf }

/** The conv1d op record (torch.nn.functional.conv1d): inputs `x`, `weight` and optional `bias`, output `y`; for `builder.apply` and custom ops (see {@link conv1d}). */
export const conv1dOp = conv1.forward
/** The conv2d op record (torch.nn.functional.conv2d): inputs `x`, `weight` and optional `bias`, output `y`; for `builder.apply` and custom ops (see {@link conv2d}). */
export const conv2dOp = conv2.forward
/** The conv3d op record (torch.nn.functional.conv3d): inputs `x`, `weight` and optional `bias`, output `y`; for `builder.apply` and custom ops (see {@link conv3d}). */
export const conv3dOp = conv3.forward
export const conv1dBackwardInputOp = conv1.backwardInputOp
export const conv2dBackwardInputOp = conv2.backwardInputOp
export const conv3dBackwardInputOp = conv3.backwardInputOp
export const conv1dBackwardWeightOp = conv1.backwardWeightOp
export const conv2dBackwardWeightOp = conv2.backwardWeightOp
export const conv3dBackwardWeightOp = conv3.backwardWeightOp
