import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { DataArray } from "../../tensor/dtype.ts"
import { normalizeAxis, sizeOf, stridesOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"

function integer(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new AttrError(`${name} = ${JSON.stringify(v)} (expected an integer)`)
  return v
}

function integers(v: unknown, name: string): number[] {
  if (!Array.isArray(v)) throw new AttrError(`${name} = ${JSON.stringify(v)} (expected an array of integers)`)
  return v.map((d, i) => integer(d, `${name}[${i}]`))
}

/** Resolves one -1 in a target shape, as torch.reshape does. */
export function resolveReshape(from: Shape, to: readonly number[]): number[] {
  const n = sizeOf(from)
  const unknown = to.filter((d) => d === -1).length
  if (unknown > 1 || to.some((d) => d < -1)) throw new ShapeError(`reshape target ${showShape(to)} is invalid (expected sizes >= 0 and at most one -1)`)
  const known = to.reduce((acc, d) => (d === -1 ? acc : acc * d), 1)
  // PyTorch's rule: with a 0 among the given sizes, -1 could be anything
  if (unknown === 1 && known === 0) {
    throw new ShapeError(
      `cannot reshape tensor of 0 elements into shape ${showShape(to)} because the unspecified dimension size -1 can be any value and is ambiguous (expected no -1 next to a 0)`,
    )
  }
  const resolved = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d))
  if (sizeOf(resolved) !== n || resolved.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(`cannot reshape ${showShape(from)} (${n} elements) to ${showShape(to)} (expected the same number of elements)`)
  }
  return resolved
}

const copyKernel = ({ inputs: { x }, outputs: { y } }: { inputs: { x: { data: DataArray } }; outputs: { y: { data: DataArray } } }) =>
  y.data.set(x.data)

type ReshapeAttrs = { shape: number[] }
/** The reshape op record (torch.reshape): attr `shape` (one -1 is inferred), input `x`, output `y` (see {@link reshape}). */
export const reshapeOp = defineOp({
  name: "reshape",
  doc: "same elements, new shape (one -1 is inferred)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { shape: readonly number[] }): ReshapeAttrs => ({ shape: integers(raw.shape, "shape") }),
  infer: ({ x }, { shape }) => ({ y: { shape: resolveReshape(x.shape, shape), dtype: x.dtype } }),
  kernel: copyKernel,
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: reshape(gy!, x.shape) }),
})

type FlattenAttrs = { start_dim: number; end_dim: number }
/** torch.flatten: merges dims start_dim..end_dim (inclusive; negative counts from the end). */
export function flattenShape(shape: Shape, a: FlattenAttrs): number[] {
  if (shape.length === 0) return [1]
  const s = normalizeAxis(a.start_dim, shape.length, "start_dim")
  const e = normalizeAxis(a.end_dim, shape.length, "end_dim")
  if (s > e) throw new ShapeError(`start_dim ${a.start_dim} comes after end_dim ${a.end_dim} for rank ${shape.length} (expected start_dim <= end_dim)`)
  return [...shape.slice(0, s), sizeOf(shape.slice(s, e + 1)), ...shape.slice(e + 1)]
}

/** The flatten op record (torch.flatten): attrs `start_dim`, `end_dim`, input `x`, output `y` (see {@link flatten}). */
export const flattenOp = defineOp({
  name: "flatten",
  doc: "merge dims start_dim..end_dim",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { start_dim?: number; end_dim?: number }): FlattenAttrs => ({
    start_dim: integer(raw.start_dim ?? 0, "start_dim"),
    end_dim: integer(raw.end_dim ?? -1, "end_dim"),
  }),
  infer: ({ x }, a) => ({ y: { shape: flattenShape(x.shape, a), dtype: x.dtype } }),
  kernel: copyKernel,
  grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: reshape(gy!, x.shape) }),
})

/** Copies x into y with y's axis i being x's axis dims[i]. */
function permuteKernel(x: DataArray, xShape: Shape, y: DataArray, dims: readonly number[]): void {
  const rank = xShape.length
  const xs = stridesOf(xShape)
  const outShape = dims.map((d) => xShape[d])
  const srcStride = dims.map((d) => xs[d])
  const n = y.length
  const index = new Array<number>(rank).fill(0)
  let src = 0
  for (let i = 0; i < n; i++) {
    y[i] = x[src]
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++
      src += srcStride[d]
      if (index[d] < outShape[d]) break
      src -= srcStride[d] * outShape[d]
      index[d] = 0
    }
  }
}

type PermuteAttrs = { dims: number[] }
function checkPermutation(dims: readonly number[], rank: number): number[] {
  const norm = dims.map((d) => normalizeAxis(d, rank, "dims entry"))
  if (norm.length !== rank || new Set(norm).size !== rank) {
    throw new ShapeError(`dims ${JSON.stringify(dims)} is not a permutation of the ${rank} axes (expected each axis exactly once)`)
  }
  return norm
}

/** The permute op record (torch.permute): attr `dims` (y axis i = x axis dims[i]), input `x`, output `y` (see {@link permute}). */
export const permuteOp = defineOp({
  name: "permute",
  doc: "reorder axes: y axis i = x axis dims[i]",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { dims: readonly number[] }): PermuteAttrs => ({ dims: integers(raw.dims, "dims") }),
  infer: ({ x }, { dims }) => ({ y: { shape: checkPermutation(dims, x.shape.length).map((d) => x.shape[d]), dtype: x.dtype } }),
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { dims } }) => permuteKernel(x.data, x.shape, y.data, checkPermutation(dims, x.shape.length)),
  grad: ({ inputs: { x }, grads: { y: gy }, attrs: { dims } }) => {
    const norm = checkPermutation(dims, x.shape.length)
    const inverse = new Array<number>(norm.length)
    norm.forEach((d, i) => (inverse[d] = i))
    return { x: permute(gy!, inverse) }
  },
})

type TransposeAttrs = { dim0: number; dim1: number }
function swapped(rank: number, a: TransposeAttrs): number[] {
  const d0 = normalizeAxis(a.dim0, rank, "dim0")
  const d1 = normalizeAxis(a.dim1, rank, "dim1")
  const dims = Array.from({ length: rank }, (_, i) => i)
  dims[d0] = d1
  dims[d1] = d0
  return dims
}

/** The transpose op record (torch.transpose): attrs `dim0`, `dim1`, input `x`, output `y` (see {@link transpose}). */
export const transposeOp = defineOp({
  name: "transpose",
  doc: "swap axes dim0 and dim1",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { dim0: number; dim1: number }): TransposeAttrs => ({ dim0: integer(raw.dim0, "dim0"), dim1: integer(raw.dim1, "dim1") }),
  infer: ({ x }, a) => ({ y: { shape: swapped(x.shape.length, a).map((d) => x.shape[d]), dtype: x.dtype } }),
  kernel: ({ inputs: { x }, outputs: { y }, attrs }) => permuteKernel(x.data, x.shape, y.data, swapped(x.shape.length, attrs)),
  grad: ({ grads: { y: gy }, attrs }) => ({ x: transpose(gy!, attrs.dim0, attrs.dim1) }),
})

/**
 * torch.reshape: the same elements in a new shape; one entry may be -1 (inferred).
 *
 * @example
 * reshape(x, [-1, 400]) // [N, 16, 5, 5] -> [N, 400]
 */
export const reshape = (x: Value, shape: readonly number[]): Value => x.builder.apply(reshapeOp, { x }, { shape }).y
/** torch.flatten(x, start_dim, end_dim). */
export const flatten = (x: Value, start_dim = 0, end_dim = -1): Value => x.builder.apply(flattenOp, { x }, { start_dim, end_dim }).y
/**
 * torch.permute: reorders the axes, y axis i = x axis dims[i].
 *
 * @example
 * permute(x, [0, 2, 3, 1]) // NCHW -> NHWC
 */
export const permute = (x: Value, dims: readonly number[]): Value => x.builder.apply(permuteOp, { x }, { dims }).y
/** torch.transpose: swaps axes `dim0` and `dim1`. */
export const transpose = (x: Value, dim0: number, dim1: number): Value => x.builder.apply(transposeOp, { x }, { dim0, dim1 }).y

export const shapeOps = [reshapeOp, flattenOp, permuteOp, transposeOp] as const
