import { AttrError } from "../errors.ts"
import type { Attrs, TensorSpec } from "./types.ts"
import type { GraphBuilder, Value } from "./builder.ts"
import type { DType, FloatDType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** Required inputs `I` and optional inputs `J`, each mapped to `T`. */
export type OpInputs<I extends string, J extends string, T> = { readonly [K in I]: T } & { readonly [K in J]?: T }
/** Outputs always produced `O` and outputs produced only when consumed `P`. */
export type OpOutputs<O extends string, P extends string, T> = { readonly [K in O]: T } & { readonly [K in P]?: T }

/** What a kernel receives: input tensors, pre-allocated output tensors, attrs. */
export interface KernelArgs<I extends string, J extends string, O extends string, P extends string, A> {
  readonly inputs: OpInputs<I, J, Tensor>
  /**
   * Output buffers, zero-filled (unless the op declares `overwritesOutputs`, when their
   * contents are undefined). An optional output is absent when nothing consumes it
   * (e.g. max pooling's argmax in an inference graph): skip the work that computes it.
   */
  readonly outputs: OpOutputs<O, P, Tensor>
  readonly attrs: A
  /**
   * The name of an epilogue op to apply to output `y` before returning, set only when the
   * op lists it in `activations` (the executor fused the epilogue node that reads `y`
   * into this one; see OpSpec.epilogue).
   */
  readonly activation?: Activation
  /**
   * The epilogue's gating tensor (its `epilogue.mask` input, shaped like `y`), when it has
   * one: e.g. relu_backward keeps y[i] where mask[i] > 0 (or NaN) and writes +0 elsewhere.
   */
  readonly activationMask?: Tensor
}

/**
 * The name of a pointwise op that a producer's kernel can apply to its own output as an
 * epilogue (built-ins: "relu", and "relu_backward" with its mask). Which ops can be
 * epilogues is declared by the ops themselves (OpSpec.epilogue), never by the executor.
 */
export type Activation = string

/** How a pointwise op is folded into the op that produces its input (see OpSpec.epilogue). */
export interface EpilogueSpec {
  /** The input that receives the producer's output `y`. */
  readonly input: string
  /** An input that gates it, passed to the producer's kernel as `activationMask`. */
  readonly mask?: string
}

/** An op's kernel: computes the outputs from the input tensors and attrs, writing into the output tensors it is given. */
export type Kernel<I extends string, J extends string, O extends string, P extends string, A> = (
  args: KernelArgs<I, J, O, P, A>,
) => void

/** What a gradient rule receives. It returns new graph nodes, never numbers. */
export interface GradArgs<I extends string, J extends string, O extends string, P extends string, A> {
  /** The forward node's inputs, as graph values. */
  readonly inputs: OpInputs<I, J, Value>
  /** The forward node's outputs (all of them, e.g. the saved argmax), as graph values. */
  readonly outputs: { readonly [K in O | P]: Value }
  /** Gradients arriving at each output; absent where no path reaches the loss. */
  readonly grads: { readonly [K in O | P]?: Value }
  readonly attrs: A
  readonly builder: GraphBuilder
  /** False for inputs whose gradient nobody asked for: skip building it. */
  needsGrad(input: I | J): boolean
}

/** What shape inference knows beyond the inputs and attrs (the third argument of `OpSpec.infer`). */
export interface InferContext {
  /** The graph's float dtype. */
  readonly dtype: FloatDType
}

/**
 * The declarative record of an op. Built-in ops and user ops are made with exactly this
 * shape through {@link defineOp}.
 */
export interface OpSpec<
  I extends string,
  J extends string,
  O extends string,
  P extends string,
  RawA,
  A extends Attrs,
> {
  readonly name: string
  /** One line of documentation, shown by the printers. */
  readonly doc?: string
  readonly inputs: readonly I[]
  readonly optionalInputs?: readonly J[]
  readonly outputs: readonly O[]
  /** Outputs computed only when something consumes them (argmax indices). */
  readonly optionalOutputs?: readonly P[]
  /**
   * Resolves defaults and validates the attrs a user passed; throws AttrError with the
   * expected form. The result is what the graph stores (plain JSON-like data).
   */
  attrs?(raw: RawA): A
  /** Pure shape/dtype inference; throws ShapeError saying what was expected. */
  infer(inputs: OpInputs<I, J, TensorSpec>, attrs: A, context: InferContext): { readonly [K in O | P]: TensorSpec }
  /** One kernel for every dtype, or one per dtype (chosen by the graph's float dtype). */
  readonly kernel: Kernel<I, J, O, P, A> | { readonly [D in DType]?: Kernel<I, J, O, P, A> }
  /**
   * True when the kernel writes every element of every output it is given. The executor
   * then hands it recycled buffers as they are, instead of clearing them first: a memory
   * pass saved per output (max pooling's backward on [32, 64, 56, 56]: 25.7 MB). Leave it
   * unset (outputs arrive zero-filled) for kernels that accumulate into their outputs.
   */
  readonly overwritesOutputs?: boolean
  /**
   * Epilogue ops (by name) the kernel can apply to its output `y` itself (see
   * KernelArgs.activation). When such an op's node is the only reader of `y` and `y` is
   * not fetched, the executor runs this kernel with the epilogue and skips that node,
   * whose output then shares `y`'s buffer. The graph itself is unchanged.
   */
  readonly activations?: readonly Activation[]
  /**
   * Declares this op (a pointwise one) foldable into the kernel of the op producing its
   * `epilogue.input`, when that op lists this op's name in `activations`.
   */
  readonly epilogue?: EpilogueSpec
  /**
   * Roughly how much work the kernel does for these shapes, in multiply-adds (or
   * comparable steps). Optional; the executor uses it to run two independent nodes of
   * similar cost side by side on two threads (see Plan.concurrent) instead of splitting
   * each across the threads in turn. A node is sent to the other thread only when the
   * thread pool's workers know its op (ParallelBackend.registry: dagrad's pool loads the
   * built-in ops); otherwise the pair runs in turn, or beside a partner that can be sent.
   */
  cost?(inputs: OpInputs<I, J, TensorSpec>, outputs: { readonly [K in O | P]: TensorSpec }, attrs: A): number
  /**
   * The gradient rule: one gradient per input, keyed by input name, each built from
   * graph ops; an absent key means "no gradient" (int inputs, non-differentiable ones).
   */
  grad?(args: GradArgs<I, J, O, P, A>): { readonly [K in I | J]?: Value }
}

/** An op definition: the spec, checked and frozen. */
export interface OpDef<
  I extends string = string,
  J extends string = string,
  O extends string = string,
  P extends string = string,
  RawA = never,
  A extends Attrs = Attrs,
> extends OpSpec<I, J, O, P, RawA, A> {
  readonly kind: "op"
}

/** Any op, as the registry, the executor and the grad transform see it. */
// `never` for RawA: the registry only calls attrs() through typed builder calls.
export type AnyOp = OpDef<string, string, string, string, never, Attrs>

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

/** All input names of an op, required first. */
export function inputNames(op: AnyOp): readonly string[] {
  return [...op.inputs, ...(op.optionalInputs ?? [])]
}

/** All output names of an op, always-produced first. */
export function outputNames(op: AnyOp): readonly string[] {
  return [...op.outputs, ...(op.optionalOutputs ?? [])]
}

/** The kernel that runs `op` for a graph of float dtype `dtype`. */
export function kernelFor(op: AnyOp, dtype: FloatDType): Kernel<string, string, string, string, Attrs> | undefined {
  const k = op.kernel
  if (typeof k === "function") return k
  return k[dtype]
}
