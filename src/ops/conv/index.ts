/**
 * The convolution family: conv1d/2d/3d, conv_transpose1d/2d/3d, and the backward ops
 * conv{1,2,3}d_backward_input / _backward_weight. The op records live in ./conv/; this
 * file is the family's public surface (op defs, functional API, `convOps`).
 */
import type { Value } from "../../graph/builder.ts"
import type { RawConvAttrs } from "./geometry.ts"
import { conv1dBackwardInputOp, conv1dBackwardWeightOp, conv1dOp, conv2dBackwardInputOp, conv2dBackwardWeightOp, conv2dOp, conv3dBackwardInputOp, conv3dBackwardWeightOp, conv3dOp, type ConvBackwardInputAttrs, type ConvBackwardWeightAttrs } from "./convolution.ts"
import { convTranspose1dOp, convTranspose2dOp, convTranspose3dOp, type RawConvTransposeAttrs } from "./transpose.ts"
import { reshape } from "../shape/index.ts"
import { type SpatialParam } from "../attrs.ts"

export {
  conv1dOp,
  conv2dOp,
  conv3dOp,
  conv1dBackwardInputOp,
  conv2dBackwardInputOp,
  conv3dBackwardInputOp,
  conv1dBackwardWeightOp,
  conv2dBackwardWeightOp,
  conv3dBackwardWeightOp,
  convTranspose1dOp,
  convTranspose2dOp,
  convTranspose3dOp,
}
export type { ConvAttrs } from "./geometry.ts"
export type { SpatialParam } from "../attrs.ts"
export type { ConvTransposeAttrs } from "./transpose.ts"

/**
 * Attrs of conv1d/2d/3d, as PyTorch's keyword arguments: `stride`, `padding` (ints, or
 * "same" / "valid"), `dilation` (an int or one per spatial dim), `groups`.
 */
export type ConvOptions = Omit<RawConvAttrs, "output_size">
/** Attrs of conv_transpose1d/2d/3d: `stride`, `padding`, `output_padding`, `groups`, `dilation`. */
export type ConvTransposeOptions = RawConvTransposeAttrs

/**
 * Applies a batched op to x, or, when x is unbatched (C, *spatial) as PyTorch accepts it
 * (rank dims + 1), to x viewed as a batch of one, returning an unbatched result.
 */
function batchedOrNot(x: Value, dims: number, f: (x: Value) => Value): Value {
  if (x.rank !== dims + 1) return f(x)
  const y = f(reshape(x, [1, ...x.shape]))
  return reshape(y, y.shape.slice(1))
}

/**
 * torch.nn.functional.conv1d: x (N, C_in, L) or unbatched (C_in, L), weight (C_out, C_in/groups, k).
 *
 * @example
 * const y = conv1d(x, w, b, { stride: 2, padding: 1 })
 */
export const conv1d = (x: Value, weight: Value, bias?: Value, attrs: ConvOptions = {}): Value =>
  batchedOrNot(x, 1, (xb) => x.builder.apply(conv1dOp, { x: xb, weight, bias }, attrs).y)

/**
 * torch.nn.functional.conv2d: x (N, C_in, H, W) or unbatched (C_in, H, W), weight (C_out, C_in/groups, kH, kW).
 *
 * @example
 * const y = conv2d(x, w, b, { padding: "same", dilation: [1, 2] })
 */
export const conv2d = (x: Value, weight: Value, bias?: Value, attrs: ConvOptions = {}): Value =>
  batchedOrNot(x, 2, (xb) => x.builder.apply(conv2dOp, { x: xb, weight, bias }, attrs).y)

/**
 * torch.nn.functional.conv3d: x (N, C_in, D, H, W) or unbatched (C_in, D, H, W), weight (C_out, C_in/groups, kD, kH, kW).
 *
 * @example
 * const y = conv3d(x, w, undefined, { stride: [1, 2, 2] })
 */
export const conv3d = (x: Value, weight: Value, bias?: Value, attrs: ConvOptions = {}): Value =>
  batchedOrNot(x, 3, (xb) => x.builder.apply(conv3dOp, { x: xb, weight, bias }, attrs).y)

/**
 * torch.nn.functional.conv_transpose1d: x (N, C_in, L), weight (C_in, C_out/groups, k).
 *
 * @example
 * const y = convTranspose1d(x, w, b, { stride: 2 })
 */
export const convTranspose1d = (x: Value, weight: Value, bias?: Value, attrs: ConvTransposeOptions = {}): Value =>
  batchedOrNot(x, 1, (xb) => x.builder.apply(convTranspose1dOp, { x: xb, weight, bias }, attrs).y)

/**
 * torch.nn.functional.conv_transpose2d: x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW);
 * output size (H-1)*s - 2p + d*(k-1) + output_padding + 1.
 *
 * @example
 * const up = convTranspose2d(x, w, b, { stride: 2, padding: 1, output_padding: 1 })
 */
export const convTranspose2d = (x: Value, weight: Value, bias?: Value, attrs: ConvTransposeOptions = {}): Value =>
  batchedOrNot(x, 2, (xb) => x.builder.apply(convTranspose2dOp, { x: xb, weight, bias }, attrs).y)

/**
 * torch.nn.functional.conv_transpose3d: x (N, C_in, D, H, W), weight (C_in, C_out/groups, kD, kH, kW).
 *
 * @example
 * const y = convTranspose3d(x, w, undefined, { stride: 2 })
 */
export const convTranspose3d = (x: Value, weight: Value, bias?: Value, attrs: ConvTransposeOptions = {}): Value =>
  batchedOrNot(x, 3, (xb) => x.builder.apply(convTranspose3dOp, { x: xb, weight, bias }, attrs).y)

type BackwardOptions = Omit<RawConvAttrs, "output_size" | "bias">

/**
 * The input gradient of conv2d for upstream gy (what conv2d's gradient rule builds).
 *
 * @example
 * const gx = conv2dBackwardInput(gy, w, { input_size: [28, 28], padding: 2 })
 */
export const conv2dBackwardInput = (gy: Value, weight: Value, attrs: BackwardOptions & { input_size: readonly number[] }): Value =>
  gy.builder.apply(conv2dBackwardInputOp, { gy, weight }, attrs).y

/**
 * The weight gradient of conv2d for input x and upstream gy, summed over the batch.
 *
 * @example
 * const gw = conv2dBackwardWeight(gy, x, { kernel_size: [5, 5], padding: 2 })
 */
export const conv2dBackwardWeight = (gy: Value, x: Value, attrs: BackwardOptions & { kernel_size: readonly number[] }): Value =>
  gy.builder.apply(conv2dBackwardWeightOp, { gy, x }, attrs).y

export type { ConvBackwardInputAttrs, ConvBackwardWeightAttrs }

export const convOps = [
  conv1dOp,
  conv2dOp,
  conv3dOp,
  conv1dBackwardInputOp,
  conv2dBackwardInputOp,
  conv3dBackwardInputOp,
  conv1dBackwardWeightOp,
  conv2dBackwardWeightOp,
  conv3dBackwardWeightOp,
  convTranspose1dOp,
  convTranspose2dOp,
  convTranspose3dOp,
] as const
