// The properties every fuzzed graph must have, shared by the op-chain and CNN fuzzers:
// building or running it fails only with a DagradError; outputs have the inferred shape and
// dtype and data that matches both; two runs of one plan are bit-identical; a non-finite
// output is caught by anomaly detection; float64 gradients pass finite differences.
import { expect } from "vitest"
import { AnomalyError, DagradError } from "../../src/errors.ts"
import type { GraphBuilder, Value } from "../../src/graph/builder.ts"
import { compile } from "../../src/exec/plan.ts"
import { Random } from "../../src/tensor/random.ts"
import { sizeOf } from "../../src/tensor/shape.ts"
import type { Tensor } from "../../src/tensor/tensor.ts"
import { tensorProblem } from "../../src/tensor/validate.ts"
import { checkGradients, type GraphFunction } from "../../src/testing/gradcheck.ts"

/** How many cases were rejected, ran, and passed finite differences (printed by `npm run fuzz`). */
export const stats = { rejected: 0, ran: 0, gradchecked: 0 }

/** Runs `f`; a DagradError becomes undefined (an accepted failure), anything else fails the test. */
export function orDagradError<T>(what: string, f: () => T): T | undefined {
  try {
    return f()
  } catch (e) {
    if (e instanceof DagradError) {
      stats.rejected++
      return undefined
    }
    throw new Error(`${what} threw ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)} (expected only DagradError subclasses)`, { cause: e })
  }
}

/** Random feeds for every input node of the graph: floats in [-1, 1], int32 labels in [0, classes). */
export function randomFeeds(builder: GraphBuilder, seed: number, classes = 2): { [name: string]: Tensor } {
  const rng = new Random(seed)
  const feeds: { [name: string]: Tensor } = {}
  for (const id of builder.graph.order) {
    const node = builder.graph.nodes[id]
    if (node.kind !== "input") continue
    const { shape, dtype } = node.outputs[0]
    const n = sizeOf(shape)
    if (dtype === "int32") feeds[id] = { shape, dtype, data: Int32Array.from({ length: n }, () => Math.floor(rng.uniform(0, classes)) % classes) }
    else {
      const data = dtype === "float64" ? new Float64Array(n) : new Float32Array(n)
      for (let i = 0; i < n; i++) data[i] = rng.uniform(-1, 1)
      feeds[id] = { shape, dtype, data }
    }
  }
  return feeds
}

const bytes = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice()

/**
 * Compiles and runs the graph for `y` twice (and once with anomaly detection) on random
 * feeds and checks the executor's promises. Returns false when compile or run rejected the
 * graph with a DagradError.
 */
export function checkRuns(builder: GraphBuilder, y: Value, seed: number): boolean {
  const plan = orDagradError("compile", () => compile(builder.graph, [y]))
  if (plan === undefined) return false
  const feeds = randomFeeds(builder, seed)
  const first = orDagradError("plan.run", () => plan.run(feeds))
  if (first === undefined) return false
  const [out] = first
  expect(out.shape).toEqual(y.shape)
  expect(out.dtype).toBe(y.dtype)
  expect(tensorProblem(out)).toBeUndefined()
  const firstBytes = bytes(out)
  const [again] = plan.run(feeds)
  expect(bytes(again)).toEqual(firstBytes)
  const nonFinite = [...out.data].some((v) => !Number.isFinite(v))
  let anomaly: unknown
  try {
    plan.run(feeds, new Map(), { detectAnomaly: true })
  } catch (e) {
    anomaly = e
  }
  if (anomaly !== undefined) expect(anomaly).toBeInstanceOf(AnomalyError)
  // a non-finite output appeared at some node: detection must have stopped there
  if (nonFinite) expect(anomaly).toBeInstanceOf(AnomalyError)
  stats.ran++
  return true
}

/** Finite differences in float64 on the graph `fn` builds from `inputs` (all differentiated). */
export function checkFiniteDifferences(fn: GraphFunction, inputs: { [name: string]: Tensor }): void {
  const report = checkGradients(fn, inputs, { rtol: 1e-4, atol: 1e-6 })
  expect(report.ok, report.summary).toBe(true)
  stats.gradchecked++
}

/** One line of counts for a fuzz run's log. */
export function statsLine(what: string): string {
  const line = `${what}: ${stats.ran} graphs ran, ${stats.gradchecked} of them passed finite differences, ${stats.rejected} rejected with a DagradError`
  stats.ran = stats.gradchecked = stats.rejected = 0
  return line
}
