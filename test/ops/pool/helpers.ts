// Small helpers shared by the pooling tests: build a graph from named inputs, run it,
// and take L = sum(y * u) gradients, in float64 unless asked otherwise.
import { GraphBuilder, compile, gradValues, mul, sum, tensor, type Tensor, type Value } from "../../../src/index.ts"

export type Feeds = { readonly [name: string]: Tensor }
export type Build = (v: { readonly [name: string]: Value }) => Value | readonly Value[]

export const t64 = (values: readonly number[], shape: readonly number[]): Tensor => tensor(values, shape, "float64")
export const i32 = (values: readonly number[], shape: readonly number[]): Tensor => tensor(values, shape, "int32")

export { randomTensor } from "../../helpers.ts"

function inputs(b: GraphBuilder, feeds: Feeds, dtype: "float32" | "float64"): { values: { [k: string]: Value }; cast: { [k: string]: Tensor } } {
  const values: { [k: string]: Value } = {}
  const cast: { [k: string]: Tensor } = {}
  for (const [k, t] of Object.entries(feeds)) {
    const d = t.dtype === "int32" ? "int32" : dtype
    values[k] = b.input(k, t.shape, d)
    cast[k] = t.dtype === d ? t : tensor(t.data, t.shape, d)
  }
  return { values, cast }
}

/** Runs `build` on the feeds and returns every value it produced. */
export function run(build: Build, feeds: Feeds, dtype: "float32" | "float64" = "float64"): Tensor[] {
  const b = new GraphBuilder({ dtype })
  const { values, cast } = inputs(b, feeds, dtype)
  const out = build(values)
  const list = Array.isArray(out) ? out : [out as Value]
  return compile(b.graph, list).run(cast)
}

/** The gradients of sum(y * upstream) with respect to `wrt` (names of feeds). */
export function grads(build: (v: { readonly [name: string]: Value }) => Value, feeds: Feeds, upstream: Tensor, wrt: readonly string[], dtype: "float32" | "float64" = "float64"): Tensor[] {
  const b = new GraphBuilder({ dtype })
  const { values, cast } = inputs(b, feeds, dtype)
  const y = build(values)
  const u = b.input("__u", y.shape)
  const gs = gradValues(b, sum(mul(y, u)), wrt.map((n) => values[n]))
  return compile(b.graph, gs).run({ ...cast, __u: tensor(upstream.data, upstream.shape, dtype) })
}

export const list = (t: Tensor): number[] => Array.from(t.data)
