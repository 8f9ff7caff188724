import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { sumToShape } from "../../kernels/pointwise/broadcast.ts"
import { assertValidShape, broadcastShapes, normalizeAxis, sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { scale } from "../pointwise/index.ts"
import { expand } from "../pointwise/broadcast.ts"
import { reshape } from "../shape/index.ts"
import { requireFloat } from "../attrs.ts"

type ReduceAttrs = { dim: number[] | null; keepdim: boolean }
type RawReduceAttrs = { dim?: number | readonly number[] | null; keepdim?: boolean }

function reduceAttrs(raw: RawReduceAttrs): ReduceAttrs {
  const dim = raw.dim === undefined || raw.dim === null ? null : typeof raw.dim === "number" ? [raw.dim] : [...raw.dim]
  if (dim !== null && (!Array.isArray(dim) || dim.some((d) => !Number.isInteger(d)))) {
    throw new AttrError(`dim = ${JSON.stringify(raw.dim)} (expected an integer, an array of integers, or null for all)`)
  }
  if (raw.keepdim !== undefined && typeof raw.keepdim !== "boolean") throw new AttrError(`keepdim = ${JSON.stringify(raw.keepdim)} (expected a boolean)`)
  return { dim, keepdim: raw.keepdim ?? false }
}

/** The reduced axes (sorted, non-negative) of a reduction over `dim`. */
export function reducedAxes(shape: Shape, dim: readonly number[] | null): number[] {
  if (dim === null) return shape.map((_, i) => i)
  const axes = dim.map((d) => normalizeAxis(d, shape.length))
  if (new Set(axes).size !== axes.length) throw new ShapeError(`dim ${JSON.stringify(dim)} repeats an axis (expected distinct axes)`)
  return axes.sort((a, b) => a - b)
}

/** The shape a reduction keeps with keepdim=true: reduced axes become 1. */
function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d))
}

function reducedShape(shape: Shape, a: ReduceAttrs): number[] {
  const axes = reducedAxes(shape, a.dim)
  return a.keepdim ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i))
}

/** The sum op record (torch.sum): attrs `dim` (null: all dims) and `keepdim`, input `x`, output `y` (see {@link sum}). */
export const sumOp = defineOp({
  name: "sum",
  doc: "sum over dims (all when dim is null)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: reduceAttrs,
  infer: ({ x }, a) => {
    requireFloat(x, "x")
    return { y: { shape: reducedShape(x.shape, a), dtype: x.dtype } }
  },
  kernel: ({ inputs: { x }, outputs: { y }, attrs }) => sumToShape(x.data, x.shape, y.data, keptShape(x.shape, reducedAxes(x.shape, attrs.dim))),
  grad: ({ inputs: { x }, grads: { y: gy }, attrs }) => ({
    x: expand(reshape(gy!, keptShape(x.shape, reducedAxes(x.shape, attrs.dim))), x.shape),
  }),
})

/** The mean op record (torch.mean): attrs `dim` (null: all dims) and `keepdim`, input `x`, output `y` (see {@link mean}). */
export const meanOp = defineOp({
  name: "mean",
  doc: "mean over dims (all when dim is null)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: reduceAttrs,
  infer: ({ x }, a) => {
    requireFloat(x, "x")
    return { y: { shape: reducedShape(x.shape, a), dtype: x.dtype } }
  },
  kernel: ({ inputs: { x }, outputs: { y }, attrs }) => {
    sumToShape(x.data, x.shape, y.data, keptShape(x.shape, reducedAxes(x.shape, attrs.dim)))
    const count = sizeOf(x.shape) / Math.max(1, sizeOf(y.shape))
    for (let i = 0; i < y.data.length; i++) y.data[i] /= count
  },
  grad: ({ inputs: { x }, outputs: { y }, grads: { y: gy }, attrs }) => {
    const count = sizeOf(x.shape) / Math.max(1, sizeOf(y.shape))
    return { x: expand(reshape(scale(gy!, 1 / count), keptShape(x.shape, reducedAxes(x.shape, attrs.dim))), x.shape) }
  },
})

/** Sum over `dim` (all dims when omitted or null). */
export const sum = (x: Value, dim: number | readonly number[] | null = null, keepdim = false): Value =>
  x.builder.apply(sumOp, { x }, { dim, keepdim }).y
/** Mean over `dim` (all dims when omitted or null). */
export const mean = (x: Value, dim: number | readonly number[] | null = null, keepdim = false): Value =>
  x.builder.apply(meanOp, { x }, { dim, keepdim }).y
/** The reduction family, in documentation order. */
export const reduceOps = [sumOp, meanOp] as const
