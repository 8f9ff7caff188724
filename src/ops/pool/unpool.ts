/**
 * max_unpool{1,2,3}d: the partial inverse of max pooling. The output is zero except
 * y[n, c, indices[n, c, i]] = x[n, c, i], over an output plane of the default size
 * (L - 1)*s - 2p + k per dim or an explicit output_size strictly between default - s and
 * default + s. Indices are validated at run time (they are data).
 *
 * Gradient: grad_x[n, c, i] = gy[n, c, indices[n, c, i]], a gather, so every repeat of an
 * index receives the full upstream value (PyTorch's rule, even though only one write
 * survives in the forward).
 */
import { AttrError } from "../../errors.ts"
import { unpoolPlanes } from "../../kernels/pool/windows.ts"
import { sizeOf } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { splitPoolInput, unpoolOutputSize } from "./geometry.ts"
import { checkIndices, floats, gatherPlanes, ints } from "./planes.ts"
import { spatialParam, type SpatialParam } from "../attrs.ts"

/** Normalised attrs of max_unpool{1,2,3}d. */
export type MaxUnpoolAttrs = { kernel_size: number[]; stride: number[]; padding: number[]; output_size: number[] | null }

/** max_unpool attrs as PyTorch's arguments. */
export type MaxUnpoolOptions = {
  kernel_size: SpatialParam
  /** Default: kernel_size. */
  stride?: SpatialParam | null
  padding?: SpatialParam
  /** Spatial output sizes (or [N, C, ...spatial], whose leading two are dropped, as PyTorch allows). Default null. */
  output_size?: readonly number[] | null
}

export function maxUnpoolAttrs(raw: MaxUnpoolOptions, dims: number): MaxUnpoolAttrs {
  const kernel = spatialParam(raw.kernel_size, dims, "kernel_size", 1)
  const noStride = raw.stride === undefined || raw.stride === null || (Array.isArray(raw.stride) && raw.stride.length === 0)
  let outputSize: number[] | null = null
  if (raw.output_size !== undefined && raw.output_size !== null) {
    const o = raw.output_size
    if (!Array.isArray(o) || (o.length !== dims && o.length !== dims + 2)) {
      throw new AttrError(`output_size = ${JSON.stringify(o)} (expected null or ${dims} spatial sizes, or ${dims + 2} sizes [N, C, ...spatial])`)
    }
    outputSize = spatialParam(o.slice(o.length - dims), dims, "output_size", 1)
  }
  return {
    kernel_size: kernel,
    stride: noStride ? kernel : spatialParam(raw.stride, dims, "stride", 1),
    padding: spatialParam(raw.padding, dims, "padding", 0, new Array<number>(dims).fill(0)),
    output_size: outputSize,
  }
}

function makeMaxUnpool(dims: 1 | 2 | 3) {
  return defineOp({
    name: `max_unpool${dims}d`,
    doc: `${dims}-d max unpooling: scatter x to the flat in-plane positions in indices`,
    inputs: ["x", "indices"],
    outputs: ["y"],
    attrs: (raw: MaxUnpoolOptions): MaxUnpoolAttrs => maxUnpoolAttrs(raw, dims),
    infer: ({ x, indices }, a) => {
      const { lead, spatial } = splitPoolInput(x, dims)
      checkIndices(indices, x, "x")
      return { y: { shape: [...lead, ...unpoolOutputSize(spatial, a, a.output_size)], dtype: x.dtype } }
    },
    kernel: ({ inputs: { x, indices }, outputs: { y } }) => {
      const outSpatial = y.shape.slice(y.shape.length - dims)
      const inPlane = sizeOf(x.shape.slice(x.shape.length - dims))
      unpoolPlanes(floats(x), ints(indices), floats(y), sizeOf(x.shape) / inPlane, inPlane, sizeOf(outSpatial), outSpatial)
    },
    grad: ({ inputs: { indices }, grads: { y: gy } }) => ({ x: gatherPlanes(gy!, indices, dims) }),
  })
}

/** The max_unpool1d op record (F.max_unpool1d): inputs `x` and the int32 `indices` of a max pool, output `y` (see {@link maxUnpool1d}). */
export const maxUnpool1dOp = makeMaxUnpool(1)
/** The max_unpool2d op record (F.max_unpool2d): inputs `x` and the int32 `indices` of a max pool, output `y` (see {@link maxUnpool2d}). */
export const maxUnpool2dOp = makeMaxUnpool(2)
/** The max_unpool3d op record (F.max_unpool3d): inputs `x` and the int32 `indices` of a max pool, output `y` (see {@link maxUnpool3d}). */
export const maxUnpool3dOp = makeMaxUnpool(3)

export const unpoolOpList = [maxUnpool1dOp, maxUnpool2dOp, maxUnpool3dOp]
