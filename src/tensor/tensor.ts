import { FeedError, showShape } from "../errors.ts"
import { allocate, dtypeOfArray, isDType, type DataArray, type DType } from "./dtype.ts"
import { assertValidShape, sizeOf, type Shape } from "./shape.ts"

/**
 * A tensor is plain data: a shape, a dtype and a row-major typed array. It is what feeds,
 * fetches and parameters are; graphs never hold tensors.
 *
 * @example
 * const t = tensor([1, 2, 3, 4], [2, 2], "float64")
 */
export interface Tensor {
  readonly shape: Shape
  readonly dtype: DType
  readonly data: DataArray
}

/** Makes a tensor from numbers or a typed array (copied when given numbers). */
export function tensor(values: ArrayLike<number> | DataArray, shape: Shape, dtype: DType = "float32"): Tensor {
  checkDTypeName(dtype)
  assertValidShape(shape)
  if (values === null || typeof values !== "object" || typeof values.length !== "number") {
    throw new FeedError(`tensor values are ${values === null ? "null" : typeof values} (expected an array or typed array of numbers)`)
  }
  const n = sizeOf(shape)
  if (values.length !== n) {
    throw new FeedError(`tensor data has ${values.length} elements but shape ${showShape(shape)} needs ${n}`)
  }
  if (ArrayBuffer.isView(values) && dtypeOfArray(values as DataArray) === dtype) {
    return { shape: [...shape], dtype, data: values as DataArray }
  }
  const data = allocate(dtype, n)
  for (let i = 0; i < n; i++) data[i] = values[i]
  return { shape: [...shape], dtype, data }
}

/**
 * A zero-filled tensor (PyTorch's torch.zeros); throws ShapeError on a negative or non-integer dimension.
 *
 * @example
 * zeros([2, 3]) // float32, 6 zeros
 */
export function zeros(shape: Shape, dtype: DType = "float32"): Tensor {
  checkDTypeName(dtype)
  assertValidShape(shape)
  return { shape: [...shape], dtype, data: allocate(dtype, sizeOf(shape)) }
}

/**
 * A tensor with every element `value` (PyTorch's torch.full); exported from dagrad as `fullTensor`.
 *
 * @example
 * fullTensor([2, 2], 0.5)
 */
export function full(shape: Shape, value: number, dtype: DType = "float32"): Tensor {
  const t = zeros(shape, dtype)
  t.data.fill(value)
  return t
}

/** A scalar tensor (shape `[]`). */
export function scalar(value: number, dtype: DType = "float32"): Tensor {
  return full([], value, dtype)
}

/** A deep copy (new buffer). */
export function cloneTensor(t: Tensor): Tensor {
  return { shape: [...t.shape], dtype: t.dtype, data: t.data.slice() }
}

/** The same values in another dtype (a copy). */
export function castTensor(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return cloneTensor(t)
  const data = allocate(dtype, t.data.length)
  for (let i = 0; i < t.data.length; i++) data[i] = t.data[i]
  return { shape: [...t.shape], dtype, data }
}

/** The single value of a one-element tensor (e.g. a loss). */
export function item(t: Tensor): number {
  if (t.data.length !== 1) throw new FeedError(`item() needs a tensor with one element, got shape ${showShape(t.shape)}`)
  return t.data[0]
}

/** Nested plain arrays, for printing and tests. */
export function toNested(t: Tensor): unknown {
  const build = (dim: number, offset: number): unknown => {
    if (dim === t.shape.length) return t.data[offset]
    const inner = sizeOf(t.shape.slice(dim + 1))
    return Array.from({ length: t.shape[dim] }, (_, i) => build(dim + 1, offset + i * inner))
  }
  return build(0, 0)
}

/** Throws a FeedError for a dtype string that is not a dtype (untyped callers). */
function checkDTypeName(dtype: unknown): void {
  if (typeof dtype !== "string" || !isDType(dtype)) throw new FeedError(`unknown dtype ${JSON.stringify(dtype)} (expected float32, float64 or int32)`)
}
