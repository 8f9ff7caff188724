import { gradValues } from "../autodiff/grad.ts"
import { compile } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import type { Registry } from "../graph/registry.ts"
import { mul } from "../ops/pointwise/index.ts"
import { sum } from "../ops/reduce/index.ts"
import type { AnyOp, OpDef } from "../graph/op.ts"
import type { Attrs } from "../graph/types.ts"
import { Random } from "../tensor/random.ts"
import { stridesOf } from "../tensor/shape.ts"
import { castTensor, cloneTensor, tensor, type Tensor } from "../tensor/tensor.ts"
import { FeedError } from "../errors.ts"

/** Options of {@link checkGradients} and {@link checkOpGradients}: finite-difference step, tolerances, which inputs, upstream seed. */
export interface GradCheckOptions {
  /** Central-difference step. Default 1e-6. */
  readonly eps?: number
  /** Relative tolerance. Default 1e-5. */
  readonly rtol?: number
  /** Absolute tolerance. Default 1e-7. */
  readonly atol?: number
  /** Inputs to differentiate (default: every float input). */
  readonly wrt?: readonly string[]
  /** Seed of the random upstream gradient used when the output is not a scalar. */
  readonly seed?: number
  /** Registry for custom ops (defaults to the built-ins plus whatever the build applies). */
  readonly registry?: Registry
}

/** The worst element of one input's gradient. */
export interface GradCheckEntry {
  readonly input: string
  readonly ok: boolean
  /** Flat index and multi-dimensional index of the worst element. */
  readonly index: number
  readonly coords: readonly number[]
  readonly analytic: number
  readonly numeric: number
  readonly absError: number
  /** absError / (atol + rtol * |numeric|): above 1 fails. */
  readonly ratio: number
}

/** What {@link checkGradients} returns: whether every input passed, the worst element of each, and a printable summary. */
export interface GradCheckReport {
  readonly ok: boolean
  readonly entries: readonly GradCheckEntry[]
  /** A one-paragraph human-readable summary naming the worst element of each input. */
  readonly summary: string
}

/** Builds the function under test from graph values named like the inputs. */
export type GraphFunction = (values: { readonly [name: string]: Value }, builder: GraphBuilder) => Value

/**
 * Checks the analytic gradient of a graph function against central finite differences in
 * float64. A non-scalar output y is reduced to L = sum(y * u) with a fixed random u, so
 * every output element is exercised. Reports the worst element of each input with its index.
 *
 * Finite differences are only meaningful away from kinks and ties (ReLU at 0, tied maxima
 * in a pooling window): generate inputs with distinct, well-separated values there.
 *
 * @example
 * const report = checkGradients(({ x }) => maxPool2d(x, { kernel_size: 2 }), { x })
 * expect(report.ok, report.summary).toBe(true)
 */
export function checkGradients(
  fn: GraphFunction,
  inputs: { readonly [name: string]: Tensor },
  options: GradCheckOptions = {},
): GradCheckReport {
  const eps = options.eps ?? 1e-6
  const rtol = options.rtol ?? 1e-5
  const atol = options.atol ?? 1e-7
  const { builder: b, feeds, values, loss, wrt: wrtNames } = scalarProbe(fn, inputs, {
    registry: options.registry,
    wrt: options.wrt,
    upstream: (rng) => rng.uniform(-1, 1),
    seed: options.seed,
  })
  const grads = gradValues(
    b,
    loss,
    wrtNames.map((n) => values[n]),
  )
  const analytic = compile(b.graph, grads).run(feeds)
  const forward = compile(b.graph, [loss])
  const evaluate = (f: { [name: string]: Tensor }): number => forward.run(f)[0].data[0]

  const entries = wrtNames.map((name, k): GradCheckEntry => {
    const base = feeds[name]
    const numericAll = centralDifferences(evaluate, feeds, name, eps)
    let worst: GradCheckEntry = { input: name, ok: true, index: -1, coords: [], analytic: 0, numeric: 0, absError: 0, ratio: 0 }
    numericAll.forEach((numeric, i) => {
      const a = analytic[k].data[i]
      const absError = Math.abs(a - numeric)
      const ratio = Number.isNaN(absError) ? Infinity : absError / (atol + rtol * Math.abs(numeric))
      if (worst.index < 0 || ratio > worst.ratio) {
        worst = { input: name, ok: ratio <= 1, index: i, coords: unravel(i, base.shape), analytic: a, numeric, absError, ratio }
      }
    })
    return worst
  })
  const ok = entries.every((e) => e.ok)
  const summary = entries
    .map(
      (e) =>
        `${e.ok ? "ok" : "MISMATCH"} d/d${e.input}: worst at [${e.coords.join(", ")}] analytic ${e.analytic} vs numeric ${e.numeric} (abs error ${e.absError.toExponential(2)}, ${e.ratio.toFixed(2)}x tolerance)`,
    )
    .join("\n")
  return { ok, entries, summary }
}

/**
 * {@link checkGradients} for a single op applied to named inputs: `checkOpGradients(conv2dOp,
 * { x, weight }, { padding: 1 })` checks the gradient of the op's `y` (or `output`).
 */
export function checkOpGradients<I extends string, J extends string, O extends string, P extends string, RawA, A extends Attrs>(
  op: OpDef<I, J, O, P, RawA, A>,
  inputs: { readonly [K in I]: Tensor } & { readonly [K in J]?: Tensor },
  attrs?: RawA,
  options: GradCheckOptions & { readonly output?: O } = {},
): GradCheckReport {
  const anyOp = op as unknown as AnyOp
  return checkGradients(
    (values, builder) => {
      const apply = builder.apply as (o: AnyOp, i: { readonly [k: string]: Value }, a: unknown) => { [k: string]: Value }
      const outs = apply(anyOp, values, attrs ?? {})
      return outs[options.output ?? anyOp.outputs[0]]
    },
    inputs as { readonly [name: string]: Tensor },
    options,
  )
}

/** The float64 graph a checker probes: inputs, the function, and a scalar loss. */
export interface ScalarProbe {
  readonly builder: GraphBuilder
  /** Feeds in float64 (int32 inputs unchanged), plus `__upstream` when y is not a scalar. */
  readonly feeds: { [name: string]: Tensor }
  readonly values: { readonly [name: string]: Value }
  /** y itself when scalar, else L = sum(y * u) with a fixed random upstream u. */
  readonly loss: Value
  /** The inputs to differentiate: `wrt` or every float input. */
  readonly wrt: readonly string[]
}

/**
 * Builds `fn` on float64 graph inputs named like `inputs` and reduces its output to a
 * scalar with a seeded upstream drawn by `upstream` (shared by every checker in the kit,
 * so they probe the same function the same way).
 */
export function scalarProbe(
  fn: GraphFunction,
  inputs: { readonly [name: string]: Tensor },
  options: { registry?: Registry; wrt?: readonly string[]; seed?: number; upstream: (rng: Random) => number },
): ScalarProbe {
  const feeds: { [name: string]: Tensor } = {}
  for (const [name, t] of Object.entries(inputs)) feeds[name] = t.dtype === "int32" ? t : castTensor(t, "float64")
  const wrt = options.wrt ?? Object.keys(feeds).filter((n) => feeds[n].dtype !== "int32")
  for (const n of wrt) {
    if (feeds[n] === undefined) throw new FeedError(`wrt names '${n}', which is not among the inputs (${Object.keys(feeds).join(", ")})`)
  }
  const builder = new GraphBuilder({ dtype: "float64", registry: options.registry })
  const values: { [name: string]: Value } = {}
  for (const [name, t] of Object.entries(feeds)) values[name] = builder.input(name, t.shape, t.dtype)
  const y = fn(values, builder)
  let loss = y
  if (y.shape.length > 0) {
    const rng = new Random(options.seed ?? 1234)
    const n = y.shape.reduce((a, d) => a * d, 1)
    feeds.__upstream = tensor(Array.from({ length: n }, () => options.upstream(rng)), y.shape, "float64")
    loss = sum(mul(y, builder.input("__upstream", y.shape)))
  }
  return { builder, feeds, values, loss, wrt }
}

/** Central differences (L(x + eps e_i) - L(x - eps e_i)) / 2eps for every element of input `name`. */
export function centralDifferences(evaluate: (feeds: { [name: string]: Tensor }) => number, feeds: { [name: string]: Tensor }, name: string, eps: number): number[] {
  const base = feeds[name]
  const probe = cloneTensor(base)
  const trial = { ...feeds, [name]: probe }
  const out: number[] = []
  for (let i = 0; i < base.data.length; i++) {
    const x0 = base.data[i]
    probe.data[i] = x0 + eps
    const plus = evaluate(trial)
    probe.data[i] = x0 - eps
    const minus = evaluate(trial)
    probe.data[i] = x0
    out.push((plus - minus) / (2 * eps))
  }
  return out
}

/** The multi-dimensional index of flat element i of a row-major tensor. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const strides = stridesOf(shape)
  return strides.map((s, d) => Math.floor(i / s) % shape[d])
}
