import { DagradError, FormatError } from "../errors.ts"
import { gradValues } from "../autodiff/grad.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import { compile } from "../exec/plan.ts"
import type { AnyOp } from "../graph/op.ts"
import { builtinRegistry } from "../ops/builtins.ts"
import { mul } from "../ops/pointwise/index.ts"
import { sum } from "../ops/reduce/index.ts"
import type { Registry } from "../graph/registry.ts"
import type { DType, FloatDType } from "../tensor/dtype.ts"
import { tensor, type Tensor } from "../tensor/tensor.ts"

/** A tensor as the golden files store it (README "Tensors"). */
export interface GoldenTensor {
  readonly shape: readonly number[]
  readonly dtype: "float64" | "int64" | string
  readonly data: readonly (number | string)[]
}

/** One case of a golden file (README "File layout"). */
export interface GoldenCase {
  readonly name: string
  readonly op: string
  readonly torch?: string
  readonly attrs?: { readonly [k: string]: unknown }
  readonly tags?: readonly string[]
  readonly inputs: { readonly [name: string]: GoldenTensor }
  readonly outputs?: { readonly [name: string]: GoldenTensor }
  readonly upstream?: { readonly [name: string]: GoldenTensor }
  readonly grads?: { readonly [name: string]: GoldenTensor }
  readonly [extra: string]: unknown
}

/** A parsed golden file (format in the golden README): its format tag, op family, dtype and cases. */
export interface GoldenFile {
  readonly format: string
  readonly family: string
  readonly dtype?: string
  readonly cases: readonly GoldenCase[]
}

/** The largest disagreement found in a case, for the one-line failure report. */
export interface Mismatch {
  readonly what: string
  readonly index: number
  readonly got: number
  readonly want: number
  /** How many tolerances off (Infinity for a wrong integer or non-finite value). */
  readonly score: number
}

/** The outcome of one golden case: passed, failed or skipped, with why and the worst mismatch. */
export interface CaseResult {
  readonly name: string
  readonly op: string
  readonly status: "passed" | "failed" | "skipped"
  /** Why a case failed or was skipped. */
  readonly detail?: string
  readonly worst?: Mismatch
}

/** A runner for op names the generic path cannot handle (e.g. `training_trajectory`). */
export type CaseHandler = (c: GoldenCase, options: Required<Pick<GoldenOptions, "dtype" | "tolerance">>) => CaseResult

/** Options of {@link runGoldenCase} and {@link runGoldenFile}: dtype, tolerance, the registry to find ops in, and handlers for special cases. */
export interface GoldenOptions {
  /** Float dtype to compute in. float64 is exact to ~1e-12; float32 needs a looser tolerance. */
  readonly dtype?: FloatDType
  /** Relative tolerance: |got - want| <= tolerance * max(1, |want|). Default 1e-9 (float64), 2e-4 (float32). */
  readonly tolerance?: number
  readonly registry?: Registry
  readonly handlers?: { readonly [op: string]: CaseHandler }
}

/** Parses a golden file's text, checking its format tag. */
export function parseGoldenFile(text: string, source = "golden file"): GoldenFile {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    throw new FormatError(`${source} is not valid JSON: ${(e as Error).message}`)
  }
  const file = parsed as Partial<GoldenFile>
  if (file.format !== "golden-v1" || !Array.isArray(file.cases)) {
    throw new FormatError(`${source} has format ${JSON.stringify(file.format)} (expected "golden-v1" with a cases array)`)
  }
  return file as GoldenFile
}

/** Decodes a golden number, mapping the strings JSON cannot hold to non-finite values. */
export function goldenNumber(v: number | string): number {
  if (typeof v === "number") return v
  if (v === "NaN") return NaN
  if (v === "Infinity") return Infinity
  if (v === "-Infinity") return -Infinity
  throw new FormatError(`unexpected value ${JSON.stringify(v)} in golden data (expected a number, "NaN", "Infinity" or "-Infinity")`)
}

/** A golden tensor as a dagrad tensor: floats in `floatDType`, int64 as int32. */
export function goldenTensor(t: GoldenTensor, floatDType: FloatDType): Tensor {
  const dtype: DType = t.dtype === "int64" || t.dtype === "int32" ? "int32" : floatDType
  return tensor(t.data.map(goldenNumber), t.shape, dtype)
}

/** Default relative tolerance per dtype. */
export function defaultTolerance(dtype: FloatDType): number {
  return dtype === "float64" ? 1e-9 : 2e-4
}

/**
 * Compares `got` to a golden tensor: integers exactly, non-finite values exactly (NaN by
 * NaN, each infinity by itself), finite values within `tolerance * max(1, |want|)`.
 * Returns the worst mismatch, or undefined when everything agrees.
 */
export function compareToGolden(what: string, got: Tensor, want: GoldenTensor, tolerance: number): Mismatch | string | undefined {
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `${what}: shape [${got.shape.join(", ")}] (expected [${want.shape.join(", ")}])`
  }
  const exact = want.dtype === "int64" || want.dtype === "int32"
  let worst: Mismatch | undefined
  let worstScore = 0
  for (let i = 0; i < want.data.length; i++) {
    const w = goldenNumber(want.data[i])
    const g = got.data[i]
    let score: number
    if (exact || !Number.isFinite(w)) {
      score = Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || g === w ? 0 : Infinity
    } else {
      score = Number.isFinite(g) ? Math.abs(g - w) / (tolerance * Math.max(1, Math.abs(w))) : Infinity
    }
    if (score > 1 && score > worstScore) {
      worstScore = score
      worst = { what, index: i, got: g, want: w, score }
    }
  }
  return worst
}

/**
 * Runs one case through the graph engine: builds the op on graph inputs, runs the forward
 * pass, and the gradient of L = sum(y * upstream) with respect to every input the case
 * has gradients for, then compares outputs, indices and gradients.
 */
export function runGoldenCase(c: GoldenCase, options: GoldenOptions = {}): CaseResult {
  const dtype = options.dtype ?? "float64"
  const tolerance = options.tolerance ?? defaultTolerance(dtype)
  const handler = options.handlers?.[c.op]
  if (handler !== undefined) return handler(c, { dtype, tolerance })
  const registry = options.registry ?? builtinRegistry
  const op: AnyOp | undefined = registry.ops[c.op]
  if (op === undefined) return { name: c.name, op: c.op, status: "skipped", detail: `op ${c.op} is not supported` }
  try {
    return runCase(c, op, dtype, tolerance, registry)
  } catch (e) {
    const detail = e instanceof DagradError ? `${e.name}: ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    return { name: c.name, op: c.op, status: "failed", detail }
  }
}

function runCase(c: GoldenCase, op: AnyOp, dtype: FloatDType, tolerance: number, registry: Registry): CaseResult {
  const b = new GraphBuilder({ dtype, registry })
  const feeds: { [name: string]: Tensor } = {}
  const values: { [name: string]: Value } = {}
  for (const [name, t] of Object.entries(c.inputs)) {
    const value = goldenTensor(t, dtype)
    feeds[name] = value
    values[name] = b.input(name, value.shape, value.dtype)
  }
  const outputs = (b.apply as (o: AnyOp, i: { [k: string]: Value }, a: unknown) => { [k: string]: Value })(op, values, c.attrs ?? {})
  const expectedOutputs = Object.entries(c.outputs ?? {})
  const fetches: Value[] = []
  const labels: [string, GoldenTensor][] = []
  for (const [name, want] of expectedOutputs) {
    const v = outputs[name]
    if (v === undefined) throw new FormatError(`op ${op.name} has no output '${name}' (it has ${Object.keys(outputs).join(", ")})`)
    fetches.push(v)
    labels.push([`output ${name}`, want])
  }
  const upstream = c.upstream?.y
  const gradNames = Object.keys(c.grads ?? {})
  if (upstream !== undefined && gradNames.length > 0) {
    const u = goldenTensor(upstream, dtype)
    feeds.__upstream = u
    const loss = sum(mul(outputs.y, b.input("__upstream", u.shape)))
    const wrt = gradNames.map((n) => {
      const v = values[n]
      if (v === undefined) throw new FormatError(`case has a gradient for '${n}' but no such input`)
      return v
    })
    const grads = gradValues(b, loss, wrt)
    grads.forEach((g, i) => {
      fetches.push(g)
      labels.push([`grad ${gradNames[i]}`, c.grads![gradNames[i]]])
    })
  }
  const got = compile(b.graph, fetches).run(feeds)
  let worst: Mismatch | undefined
  for (let i = 0; i < got.length; i++) {
    const m = compareToGolden(labels[i][0], got[i], labels[i][1], tolerance)
    if (typeof m === "string") return { name: c.name, op: c.op, status: "failed", detail: m }
    if (m !== undefined && (worst === undefined || m.score > worst.score)) worst = m
  }
  if (worst !== undefined) {
    return { name: c.name, op: c.op, status: "failed", detail: `${worst.what}[${worst.index}] = ${worst.got} (expected ${worst.want})`, worst }
  }
  return { name: c.name, op: c.op, status: "passed" }
}

/** Runs every case of a file. */
export function runGoldenFile(file: GoldenFile, options: GoldenOptions = {}): CaseResult[] {
  return file.cases.map((c) => runGoldenCase(c, options))
}

/** One line per failing case, the skipped ops, and the closing `N passed, N failed` line. */
export function formatGoldenReport(results: readonly (CaseResult & { file?: string })[]): string {
  const lines: string[] = []
  for (const r of results) {
    if (r.status === "failed") lines.push(`FAIL ${r.file ? r.file + ": " : ""}${r.name} (${r.op}): ${r.detail ?? ""}`)
  }
  const skippedOps = [...new Set(results.filter((r) => r.status === "skipped").map((r) => r.op))]
  if (skippedOps.length > 0) lines.push(`skipped (unsupported ops): ${skippedOps.join(", ")}`)
  const passed = results.filter((r) => r.status === "passed").length
  const failed = results.filter((r) => r.status === "failed").length
  const skipped = results.length - passed - failed
  lines.push(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
  return lines.join("\n")
}
