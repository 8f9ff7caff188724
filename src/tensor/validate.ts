/**
 * Is a value really the tensor it says it is? The one check behind every boundary where a
 * caller hands dagrad a tensor (feeds, parameters, checkpoint writes): a typed array of
 * another class than the dtype (an int32 tensor holding a Float32Array) or of another
 * length than the shape would otherwise be read as different numbers, or past its end.
 */
import { FeedError } from "../errors.ts"
import { isDType, type DType } from "./dtype.ts"
import { sizeOf } from "./shape.ts"

const ARRAY_CLASS: { readonly [D in DType]: string } = { float32: "a Float32Array", float64: "a Float64Array", int32: "an Int32Array" }

/** The constructor name of a typed array (or `typeof`), for messages. */
function describeData(data: unknown): string {
  if (data === null) return "null"
  if (typeof data !== "object") return typeof data
  const name = (data as { constructor?: { name?: unknown } }).constructor?.name
  return typeof name === "string" ? name : "an object"
}

/** True when `data` is the typed-array class `dtype` is stored in (subarrays included). */
export function dataMatchesDType(data: unknown, dtype: DType): boolean {
  switch (dtype) {
    case "float32":
      return data instanceof Float32Array
    case "float64":
      return data instanceof Float64Array
    case "int32":
      return data instanceof Int32Array
  }
}

/**
 * What is wrong with `t` as a tensor, or undefined when nothing is: not an object, an
 * unknown dtype, a shape that is not an array of non-negative integers, a typed array of
 * another class than the dtype's, or a length other than the shape's element count.
 *
 * @example
 * tensorProblem({ shape: [1], dtype: "int32", data: new Float32Array([1.5]) })
 * // "dtype int32 is stored in an Int32Array but the data is a Float32Array"
 */
export function tensorProblem(t: unknown): string | undefined {
  if (t === null || typeof t !== "object") return `a tensor { shape, dtype, data } was expected but got ${t === null ? "null" : typeof t}`
  const { shape, dtype, data } = t as { shape?: unknown; dtype?: unknown; data?: unknown }
  if (typeof dtype !== "string" || !isDType(dtype)) return `dtype ${JSON.stringify(dtype)} is not one of float32, float64, int32`
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    return `shape ${JSON.stringify(shape)} is not an array of non-negative integers`
  }
  if (!dataMatchesDType(data, dtype)) return `dtype ${dtype} is stored in ${ARRAY_CLASS[dtype]} but the data is ${describeData(data)}`
  const n = sizeOf(shape as number[])
  const length = (data as ArrayLike<number>).length
  if (length !== n) return `shape [${(shape as number[]).join(", ")}] needs ${n} elements but the data holds ${length}`
  return undefined
}

/**
 * Throws a FeedError naming `what` (e.g. "labels") unless `t` is a valid tensor.
 *
 * @example
 * checkTensor(labels, "labels") // FeedError: labels: dtype int32 is stored in an Int32Array but ...
 */
export function checkTensor(t: unknown, what: string): void {
  const problem = tensorProblem(t)
  if (problem !== undefined) throw new FeedError(`${what}: ${problem}`)
}
