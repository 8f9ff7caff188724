import { FeedError } from "../errors.ts"

/** Element types. Graphs compute in one float dtype; int32 carries indices and labels. */
export type FloatDType = "float32" | "float64"
/** Every element type a tensor can have: a float dtype, or int32 for indices and labels. */
export type DType = FloatDType | "int32"

/** The typed array behind a float tensor (float32 or float64). */
export type FloatArray = Float32Array | Float64Array
/** The typed array behind a tensor of any {@link DType}. */
export type DataArray = Float32Array | Float64Array | Int32Array

/** The typed-array class each dtype is stored in. */
export type ArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : Int32Array

export function isFloatDType(d: string): d is FloatDType {
  return d === "float32" || d === "float64"
}

export function isDType(d: string): d is DType {
  return d === "float32" || d === "float64" || d === "int32"
}

/** A zero-filled typed array for `dtype`; a FeedError for an unknown dtype string. */
export function allocate(dtype: DType, size: number): DataArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size)
    case "float64":
      return new Float64Array(size)
    case "int32":
      return new Int32Array(size)
  }
  // reachable from untyped callers (JavaScript, JSON): name the bad dtype instead of
  // returning undefined
  throw new FeedError(`unknown dtype ${JSON.stringify(dtype)} (expected float32, float64 or int32)`)
}

export function dtypeOfArray(a: DataArray): DType {
  if (a instanceof Float32Array) return "float32"
  if (a instanceof Float64Array) return "float64"
  return "int32"
}
