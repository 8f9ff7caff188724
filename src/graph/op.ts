/**
 * `defineOp`, the one way ops are made, and what the executor and the grad transform ask of
 * an op record. The record's type (OpSpec and the argument types of its functions) is
 * declared with the graph and its builder (./builder.ts), which it refers to and which
 * refer to it.
 */
import { AttrError } from "../errors.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import type { AnyOp, Kernel, OpDef, OpSpec } from "./builder.ts"
import type { Attrs } from "./types.ts"

export type {
  OpInputs,
  OpOutputs,
  KernelArgs,
  Activation,
  EpilogueSpec,
  Kernel,
  GradArgs,
  InferContext,
  OpSpec,
  OpDef,
  AnyOp,
} from "./builder.ts"
export { inputNames, outputNames } from "./builder.ts"

/**
 * Defines an op. This is the one way ops are made, built-in or user-defined.
 *
 * @example
 * const swish = defineOp({
 *   name: "swish", inputs: ["x"], outputs: ["y"],
 *   infer: ({ x }) => ({ y: x }),
 *   kernel: ({ inputs: { x }, outputs: { y } }) => {
 *     for (let i = 0; i < x.data.length; i++) y.data[i] = x.data[i] / (1 + Math.exp(-x.data[i]))
 *   },
 *   grad: ({ inputs: { x }, grads: { y: gy } }) => ({ x: mul(gy!, swishDerivative(x)) }),
 * })
 */
export function defineOp<
  const I extends string,
  const O extends string,
  const J extends string = never,
  const P extends string = never,
  RawA = Record<string, never>,
  A extends Attrs = Record<string, never>,
>(spec: OpSpec<I, J, O, P, RawA, A>): OpDef<I, J, O, P, RawA, A> {
  const names = [...spec.inputs, ...(spec.optionalInputs ?? [])]
  const outs = [...spec.outputs, ...(spec.optionalOutputs ?? [])]
  const fail = (msg: string): never => {
    throw new AttrError(`defineOp '${spec.name}': ${msg}`)
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(spec.name)) fail("the name must be an identifier (letters, digits, _ and .)")
  if (new Set(names).size !== names.length) fail(`input names must be unique, got ${names.join(", ")}`)
  if (new Set(outs).size !== outs.length) fail(`output names must be unique, got ${outs.join(", ")}`)
  if (outs.length === 0) fail("an op needs at least one output")
  if (spec.outputs.length === 0) fail("an op needs at least one output that is always produced")
  return Object.freeze({ ...spec, kind: "op" as const })
}

/** The kernel that runs `op` for a graph of float dtype `dtype`. */
export function kernelFor(op: AnyOp, dtype: FloatDType): Kernel<string, string, string, string, Attrs> | undefined {
  const k = op.kernel
  if (typeof k === "function") return k
  return k[dtype]
}
