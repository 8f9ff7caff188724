import { DagradError, FormatError } from "../errors.ts"
import { gradValues } from "../autodiff/grad.ts"
import { compile } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import { mul } from "../ops/pointwise/index.ts"
import { maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices, maxUnpool1d, maxUnpool2d, maxUnpool3d } from "../ops/pool/index.ts"
import { sum } from "../ops/reduce/index.ts"
import * as nn from "../nn/index.ts"
import { ForwardContext, namedParameters, type Module } from "../nn/module.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { compareToGolden, goldenTensor, type CaseHandler, type CaseResult, type GoldenCase, type GoldenTensor, type Mismatch } from "./golden.ts"

/*
 * Golden cases of whole torch.nn layers (test/golden/layers.json, written by
 * test/golden/scripts/gen_layers.py). A case names a torch.nn class and its constructor
 * arguments; dagrad's class of the same name is built from the same positional arguments
 * and the keyword arguments as its options object, its parameters are fed from the case's
 * state_dict entries under the same names, and the output, the updated buffers and the
 * gradients of x and every parameter are compared.
 */

type LayerClass = new (...args: never[]) => Module

function isLayerClass(v: unknown): v is LayerClass {
  return typeof v === "function" && typeof (v.prototype as Partial<Module> | undefined)?.forward === "function"
}

/** The dagrad layer classes a module case may name, by their (PyTorch) class name: every class nn exports. */
export const layerClasses: { readonly [name: string]: LayerClass } = Object.fromEntries(
  Object.entries(nn).flatMap(([name, v]): [string, LayerClass][] => (/^[A-Z]/.test(name) && isLayerClass(v) ? [[name, v]] : [])),
)

interface ModuleAttrs {
  readonly class: string
  readonly args: readonly unknown[]
  readonly kwargs: { readonly [k: string]: unknown }
  readonly training: boolean
  readonly output_size?: readonly number[]
}

// PyTorch keeps num_batches_tracked in every tracking batch norm's state_dict; dagrad's
// layers have it only with momentum = null (where it changes a result).
const OPTIONAL_STATE = new Set(["num_batches_tracked"])

function fail(c: GoldenCase, detail: string): CaseResult {
  return { name: c.name, op: c.op, status: "failed", detail }
}

/** Runs the fetches and compares them to their golden tensors (the worst mismatch wins). */
function compareAll(c: GoldenCase, b: GraphBuilder, fetches: readonly [string, Value, GoldenTensor][], feeds: { [n: string]: Tensor }, params: ReadonlyMap<string, Tensor>, tolerance: number): CaseResult {
  const got = compile(
    b.graph,
    fetches.map((f) => f[1]),
  ).run(feeds, params)
  let worst: Mismatch | undefined
  for (let i = 0; i < got.length; i++) {
    const m = compareToGolden(fetches[i][0], got[i], fetches[i][2], tolerance)
    if (typeof m === "string") return fail(c, m)
    if (m !== undefined && (worst === undefined || m.score > worst.score)) worst = m
  }
  if (worst !== undefined) return { ...fail(c, `${worst.what}[${worst.index}] = ${worst.got} (expected ${worst.want})`), worst }
  return { name: c.name, op: c.op, status: "passed" }
}

/** Adds the gradient fetches of L = sum(y * upstream) for every entry of `c.grads`. */
function gradFetches(c: GoldenCase, b: GraphBuilder, y: Value, values: ReadonlyMap<string, Value>, feeds: { [n: string]: Tensor }, dtype: FloatDType): [string, Value, GoldenTensor][] {
  const upstream = c.upstream?.y
  const names = Object.keys(c.grads ?? {})
  if (upstream === undefined || names.length === 0) return []
  const u = goldenTensor(upstream, dtype)
  feeds.__upstream = u
  const loss = sum(mul(y, b.input("__upstream", u.shape)))
  const wrt = names.map((n) => {
    const v = values.get(n)
    if (v === undefined) throw new FormatError(`case has a gradient for '${n}' but the layer has no such input or parameter`)
    return v
  })
  return gradValues(b, loss, wrt).map((g, i) => [`grad ${names[i]}`, g, c.grads![names[i]]])
}

function runModuleCase(c: GoldenCase, dtype: FloatDType, tolerance: number): CaseResult {
  const a = c.attrs as unknown as ModuleAttrs
  const Layer = layerClasses[a.class]
  if (Layer === undefined) return { name: c.name, op: c.op, status: "skipped", detail: `no layer class ${a.class}` }
  const construct = Layer as unknown as new (...args: unknown[]) => Module
  const layer = new construct(...a.args, { ...a.kwargs })
  if (layer.type !== a.class) return fail(c, `new ${a.class}(...).type is ${layer.type}`)

  // state_dict names: every parameter the layer declares is in the case, and vice versa
  const declared = new Set(namedParameters(layer).map((p) => p.name))
  const state = Object.keys(c.inputs).filter((n) => n !== "x" && n !== "indices")
  for (const n of declared) if (!state.includes(n)) return fail(c, `layer parameter '${n}' is not in PyTorch's state_dict (${state.join(", ")})`)
  for (const n of state) if (!declared.has(n) && !OPTIONAL_STATE.has(n)) return fail(c, `state_dict entry '${n}' is not a parameter of the layer (${[...declared].join(", ")})`)

  const b = new GraphBuilder({ dtype })
  const feeds: { [n: string]: Tensor } = {}
  const x = goldenTensor(c.inputs.x, dtype)
  feeds.x = x
  const xv = b.input("x", x.shape)
  const extra: unknown[] = []
  if (c.inputs.indices !== undefined) {
    const idx = goldenTensor(c.inputs.indices, dtype)
    feeds.indices = idx
    extra.push(b.input("indices", idx.shape, "int32"), a.output_size)
  }
  const ctx = ForwardContext.root(b, layer, { training: a.training })
  const forward: (x: Value, ctx: ForwardContext, ...rest: readonly unknown[]) => Value = layer.forward
  const y = forward.call(layer, xv, ctx, ...extra)
  const params = new Map<string, Tensor>()
  for (const name of ctx.paramValues.keys()) params.set(name, goldenTensor(c.inputs[name], dtype))

  const fetches: [string, Value, GoldenTensor][] = []
  for (const [name, want] of Object.entries(c.outputs ?? {})) {
    const v = name === "y" ? y : ctx.bufferUpdates.get(name)
    if (v === undefined) {
      if (OPTIONAL_STATE.has(name) && !declared.has(name)) continue
      return fail(c, `the layer reports no updated buffer '${name}'`)
    }
    fetches.push([`output ${name}`, v, want])
  }
  const values = new Map<string, Value>([["x", xv], ...ctx.paramValues])
  fetches.push(...gradFetches(c, b, y, values, feeds, dtype))
  return compareAll(c, b, fetches, feeds, params, tolerance)
}

const poolFns = [maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices] as const
const unpoolFns = [maxUnpool1d, maxUnpool2d, maxUnpool3d] as const

function runPoolUnpoolCase(c: GoldenCase, dtype: FloatDType, tolerance: number): CaseResult {
  const a = c.attrs as { dims: 1 | 2 | 3; kernel_size: number; stride: number; padding: number }
  const b = new GraphBuilder({ dtype })
  const x = goldenTensor(c.inputs.x, dtype)
  const xv = b.input("x", x.shape)
  const feeds: { [n: string]: Tensor } = { x }
  const attrs = { kernel_size: a.kernel_size, stride: a.stride, padding: a.padding }
  const { y, indices } = poolFns[a.dims - 1](xv, attrs)
  const z = unpoolFns[a.dims - 1](y, indices, { ...attrs, output_size: x.shape.slice(2) })
  const fetches: [string, Value, GoldenTensor][] = [
    ["output y", z, c.outputs!.y],
    ["output indices", indices, c.outputs!.indices],
    ...gradFetches(c, b, z, new Map([["x", xv]]), feeds, dtype),
  ]
  return compareAll(c, b, fetches, feeds, new Map(), tolerance)
}

function guarded(run: (c: GoldenCase, dtype: FloatDType, tolerance: number) => CaseResult): CaseHandler {
  return (c, { dtype, tolerance }) => {
    try {
      return run(c, dtype, tolerance)
    } catch (e) {
      return fail(c, e instanceof DagradError || e instanceof Error ? `${e.name}: ${e.message}` : String(e))
    }
  }
}

/**
 * Golden handlers for whole layers (`module`) and for max_unpool(max_pool(x))
 * (`pool_unpool`); pass them to runGoldenCase's `handlers`.
 *
 * @example
 * runGoldenCase(c, { dtype: "float64", handlers: moduleGoldenHandlers })
 */
export const moduleGoldenHandlers: { readonly [op: string]: CaseHandler } = {
  module: guarded(runModuleCase),
  pool_unpool: guarded(runPoolUnpoolCase),
}
