/**
 * Per-plane gather and scatter-add at flat in-plane indices (the argmax of max pooling,
 * the positions of max_unpool). They are each other's adjoint,
 *
 *     <scatterAdd(g, idx), x> = <g, gather(x, idx)>
 *
 * so each one's gradient is the other: this pair closes max pooling and max_unpool under
 * differentiation (double backward and beyond).
 */
import { KernelError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { gatherPlanes as gatherKernel, scatterAddPlanes as scatterKernel } from "../../kernels/pool/windows.ts"
import type { FloatArray } from "../../tensor/dtype.ts"
import { sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { defineOp } from "../../graph/op.ts"
import { splitPoolInput } from "./geometry.ts"
import { spatialParam } from "../attrs.ts"

/** The float data of a tensor (kernels of this family only see float or int32 tensors). */
export function floats(t: Tensor): FloatArray {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return t.data
  throw new KernelError(`expected a float tensor, got ${t.dtype}`)
}

export function ints(t: Tensor): Int32Array {
  if (t.data instanceof Int32Array) return t.data
  throw new KernelError(`expected an int32 tensor, got ${t.dtype}`)
}

/** Checks an int32 index tensor against the float tensor it indexes the output of. */
export function checkIndices(indices: TensorSpec, like: TensorSpec, likeName: string): void {
  if (indices.dtype !== "int32") throw new ShapeError(`indices are ${indices.dtype} (expected int32 flat in-plane indices)`)
  if (!sameShape(indices.shape, like.shape)) {
    throw new ShapeError(`indices ${showShape(indices.shape)} and ${likeName} ${showShape(like.shape)} differ (expected equal shapes)`)
  }
}

/** Leading (plane) dims of a [..., *spatial] shape with `dims` spatial dims. */
const lead = (shape: Shape, dims: number): number[] => shape.slice(0, shape.length - dims)

type GatherAttrs = { dims: number }

/** y[..., o] = x[..., indices[..., o]] per plane (0 where the index is -1). */
export const gatherPlanesOp = defineOp({
  name: "gather_planes",
  doc: "y[plane, o] = x[plane, indices[plane, o]]: per-plane gather at flat spatial indices",
  inputs: ["x", "indices"],
  outputs: ["y"],
  attrs: (raw: { dims: number }): GatherAttrs => ({ dims: spatialParam(raw.dims, 1, "dims", 1)[0] }),
  infer: ({ x, indices }, { dims }) => {
    const xs = splitPoolInput(x, dims)
    if (indices.dtype !== "int32") throw new ShapeError(`indices are ${indices.dtype} (expected int32)`)
    if (indices.shape.length !== x.shape.length || !sameShape(lead(indices.shape, dims), xs.lead)) {
      throw new ShapeError(`indices ${showShape(indices.shape)} do not match x ${showShape(x.shape)} (expected the same leading dims ${showShape(xs.lead)} and ${dims} spatial dims)`)
    }
    return { y: { shape: indices.shape, dtype: x.dtype } }
  },
  kernel: ({ inputs: { x, indices }, outputs: { y }, attrs: { dims } }) => {
    const planes = sizeOf(lead(x.shape, dims))
    gatherKernel(floats(x), ints(indices), floats(y), planes, sizeOf(indices.shape) / Math.max(planes, 1), sizeOf(x.shape) / Math.max(planes, 1))
  },
  grad: ({ inputs: { x, indices }, grads: { y: gy }, attrs: { dims } }) => ({
    x: scatterAddPlanes(gy!, indices, x.shape.slice(x.shape.length - dims)),
  }),
})

type ScatterAttrs = { input_size: number[] }

/** y = zeros([..., *input_size]); y[..., indices[..., o]] += g[..., o] per plane. */
export const scatterAddPlanesOp = defineOp({
  name: "scatter_add_planes",
  doc: "y[plane, indices[plane, o]] += g[plane, o]: per-plane scatter-add at flat spatial indices",
  inputs: ["g", "indices"],
  outputs: ["y"],
  attrs: (raw: { input_size: readonly number[] }): ScatterAttrs => {
    const n = Array.isArray(raw.input_size) ? raw.input_size.length : 0
    return { input_size: spatialParam(raw.input_size, Math.max(n, 1), "input_size", 1) }
  },
  infer: ({ g, indices }, { input_size }) => {
    checkIndices(indices, g, "g")
    splitPoolInput(g, input_size.length, "g")
    return { y: { shape: [...lead(g.shape, input_size.length), ...input_size], dtype: g.dtype } }
  },
  kernel: ({ inputs: { g, indices }, outputs: { y }, attrs: { input_size } }) => {
    const planes = sizeOf(lead(g.shape, input_size.length))
    scatterKernel(floats(g), ints(indices), floats(y), planes, sizeOf(g.shape) / Math.max(planes, 1), sizeOf(input_size))
  },
  grad: ({ inputs: { indices }, grads: { y: gy }, attrs: { input_size } }) => ({ g: gatherPlanes(gy!, indices, input_size.length) }),
})

/**
 * Per-plane gather at flat spatial indices: for x [N, C, *in] and indices [N, C, *out],
 * y[n, c, o] = x[n, c, indices[n, c, o]]. The gradient of max pooling's backward and of max_unpool.
 *
 * @example
 * const picked = gatherPlanes(x, indices, 2) // the maxima a max_pool2d chose
 */
export const gatherPlanes = (x: Value, indices: Value, dims: number): Value => x.builder.apply(gatherPlanesOp, { x, indices }, { dims }).y

/**
 * Per-plane scatter-add: zeros of spatial size `inputSize`, then y[n, c, indices[n, c, o]] += g[n, c, o].
 *
 * @example
 * const gx = scatterAddPlanes(gy, indices, [56, 56]) // max_pool2d's backward, as a plain scatter
 */
export const scatterAddPlanes = (g: Value, indices: Value, inputSize: readonly number[]): Value =>
  g.builder.apply(scatterAddPlanesOp, { g, indices }, { input_size: inputSize }).y
