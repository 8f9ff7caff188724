/**
 * Attribute helpers every op family and layer shares, written once: the "one integer or
 * one per spatial dim" form PyTorch's conv and pooling arguments take, and the
 * validators that turn a bad attribute into an AttrError saying what was expected.
 */
import { AttrError, ShapeError } from "../errors.ts"
import type { TensorSpec } from "../graph/types.ts"

/** A spatial attribute as users write it: one integer for every dim, or one per dim. */
export type SpatialParam = number | readonly number[]

/**
 * Normalises an int-or-tuple spatial attr to one integer >= `min` per dim. Absent (or
 * null): `fallback` (one number for every dim, or one per dim), or an AttrError when
 * there is none.
 *
 * @example
 * spatialParam(2, 2, "stride", 1) // [2, 2]
 * spatialParam([1, 3], 2, "kernel_size", 1) // [1, 3]
 */
export function spatialParam(v: unknown, dims: number, name: string, min: number, fallback?: number | readonly number[]): number[] {
  const expected = `an integer >= ${min} or an array of ${dims} such integers`
  if (v === undefined || v === null) {
    if (fallback === undefined) throw new AttrError(`${name} is required (expected ${expected})`)
    return typeof fallback === "number" ? new Array<number>(dims).fill(fallback) : [...fallback]
  }
  const list = typeof v === "number" ? new Array<number>(dims).fill(v) : v
  if (!Array.isArray(list) || list.length !== dims || list.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < min)) {
    throw new AttrError(`${name} = ${JSON.stringify(v)} (expected ${expected})`)
  }
  return [...(list as number[])]
}

/** An integer >= 1; `fallback` when absent (an AttrError when there is none). */
export function positiveInteger(v: unknown, name: string, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new AttrError(`${name} = ${JSON.stringify(v)} (expected an integer >= 1)`)
  return v
}

/** A boolean; `fallback` when absent or null. */
export function booleanAttr(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback
  if (typeof v !== "boolean") throw new AttrError(`${name} = ${JSON.stringify(v)} (expected true or false)`)
  return v
}

/**
 * A number passing `check` (default: finite), else an AttrError naming the attribute and
 * what was expected.
 */
export function requireNumber(value: unknown, name: string, check: (v: number) => boolean = Number.isFinite, expected = "a finite number"): number {
  if (typeof value !== "number" || !check(value)) throw new AttrError(`${name} = ${JSON.stringify(value)} (expected ${expected})`)
  return value
}

/** Throws unless `spec` is a float tensor (math on indices is not defined). */
export function requireFloat(spec: TensorSpec, name: string): void {
  if (spec.dtype === "int32") throw new ShapeError(`input '${name}' is int32 (expected a float tensor)`)
}
