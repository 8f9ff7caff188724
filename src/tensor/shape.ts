import { ShapeError, showShape } from "../errors.ts"

/** A tensor shape: one size per dimension, outermost first; `[]` is a scalar. */
export type Shape = readonly number[]

/** Number of elements of a shape; a scalar `[]` holds one. */
export function sizeOf(shape: Shape): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length)
  let acc = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= shape[i]
  }
  return s
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

/** A dimension index that may be negative (counting from the end), as PyTorch allows. */
export function normalizeAxis(axis: number, rank: number, what = "dim"): number {
  if (!Number.isInteger(axis) || axis < -Math.max(rank, 1) || axis >= Math.max(rank, 1)) {
    throw new ShapeError(`${what} ${axis} out of range for a tensor of rank ${rank} (expected -${rank} <= ${what} < ${rank})`)
  }
  return axis < 0 ? axis + rank : axis
}

/** NumPy/PyTorch broadcasting of two shapes (align right, 1 stretches). */
export function broadcastShapes(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length)
  const out = new Array<number>(rank)
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1
    const db = b[b.length - rank + i] ?? 1
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `shapes ${showShape(a)} and ${showShape(b)} do not broadcast: dimension ${i} is ${da} vs ${db} (expected equal sizes or one of them 1)`,
      )
    }
    out[i] = da === 1 ? db : da
  }
  return out
}

/**
 * Strides for reading a tensor of shape `from` as if it had the (broadcast) shape `to`:
 * 0 along dimensions that are stretched or missing.
 */
export function broadcastStrides(from: Shape, to: Shape): number[] {
  const own = stridesOf(from)
  const out = new Array<number>(to.length).fill(0)
  for (let i = 0; i < from.length; i++) {
    const j = to.length - from.length + i
    out[j] = from[i] === 1 && to[j] !== 1 ? 0 : own[i]
  }
  return out
}

/** Throws a ShapeError unless `shape` is an array of non-negative integers. */
export function assertValidShape(shape: Shape, what = "shape"): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${what} ${JSON.stringify(shape) ?? String(shape)} is not an array (expected an array of non-negative integers)`)
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${what} ${showShape(shape)} has an invalid dimension ${d} (expected non-negative integers)`)
    }
  }
}
