/*
 * The graph, its registry of ops, the op record's type and the builder are declared in this
 * one module because they refer to each other: a Graph holds its Registry, a Registry holds
 * op records, an op's gradient rule receives GraphBuilder and Value, and the builder grows
 * Graphs. (defineOp and the registry's functions are in ./op.ts and ./registry.ts.)
 */
import { freeze, produce, castDraft } from "immer"
import { AttrError, DagradError, GraphError, ShapeError, showShape, type ErrorContext } from "../errors.ts"
import { isFloatDType, type DType, type FloatDType } from "../tensor/dtype.ts"
import { assertValidShape, type Shape } from "../tensor/shape.ts"
import type { Attrs, GraphNode, OutputRef, OutputSpec, TensorSpec } from "./types.ts"
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
 * A graph is an immutable value (frozen by immer): nodes keyed by id, `order` their
 * insertion order (always a valid topological order, since a node can only be added
 * after its inputs), the float dtype it computes in, and the registry its op names
 * resolve against.
 */
export interface Graph {
  readonly dtype: FloatDType
  readonly nodes: { readonly [id: string]: GraphNode }
  readonly order: readonly string[]
  readonly registry: Registry
}


/**
 * An immutable map from op name to definition. A graph extends its registry when an op
 * is first applied, so ops need no registration step and custom ops behave exactly like
 * built-ins; the built-in list (ops/builtins.ts) is only a registry to resolve graphs
 * whose nodes arrive by name.
 */
export interface Registry {
  readonly ops: { readonly [name: string]: AnyOp }
}

/** The registry with no ops: where a new graph starts. */
export const emptyRegistry: Registry = Object.freeze({ ops: Object.freeze({}) })

/** The registry with `op` added; the same registry if it is already there. */
export function withOp(reg: Registry, op: AnyOp): Registry {
  const existing = reg.ops[op.name]
  if (existing === op) return reg
  if (existing !== undefined) {
    throw new GraphError(`two different ops are named '${op.name}' (expected op names to be unique; rename the custom op)`)
  }
  return Object.freeze({ ops: Object.freeze({ ...reg.ops, [op.name]: op }) })
}

/** All input names of an op, required first. */
export function inputNames(op: AnyOp): readonly string[] {
  return [...op.inputs, ...(op.optionalInputs ?? [])]
}

/** All output names of an op, always-produced first. */
export function outputNames(op: AnyOp): readonly string[] {
  return [...op.outputs, ...(op.optionalOutputs ?? [])]
}


/**
 * A symbolic tensor: one output of one node of the graph a builder is growing. Ops are
 * applied to values; nothing is computed until an executor runs the graph.
 */
export class Value {
  constructor(
    readonly builder: GraphBuilder,
    readonly ref: OutputRef,
    readonly spec: OutputSpec,
  ) {}

  get shape(): Shape {
    return this.spec.shape
  }
  get dtype(): DType {
    return this.spec.dtype
  }
  get rank(): number {
    return this.spec.shape.length
  }
  get node(): GraphNode {
    return this.builder.graph.nodes[this.ref.node]
  }
  /** The value as `node:output [shape] dtype`, for messages and debugging. */
  toString(): string {
    return `${this.ref.node}:${this.ref.output} ${showShape(this.shape)} ${this.dtype}`
  }
}

/** Options of the {@link GraphBuilder} constructor. */
export interface BuilderOptions {
  /** The float dtype every float tensor of the graph has. Default `float32`. */
  readonly dtype?: FloatDType
  /**
   * Ops the graph starts with. Default: none. Every op, built-in or custom, is added to the
   * graph's registry when it is first applied, so this only matters for graphs whose nodes
   * are added by name (files, other threads).
   */
  readonly registry?: Registry
}

/** Options of {@link GraphBuilder.apply}. */
export interface ApplyOptions {
  /** Node id to use instead of a generated `op_N`. */
  readonly name?: string
}

/** The `Value`s of every output of an applied op, keyed by output name. */
export type AppliedOutputs<O extends string, P extends string> = { readonly [K in O | P]: Value }

/**
 * Grows an immutable {@link Graph} one node at a time, inferring every node's output
 * shapes as it is added so that mistakes surface at the line that made them. The builder
 * itself is mutable; `builder.graph` is always a frozen snapshot.
 *
 * Shapes are concrete. To run a model at another batch size, call the function that
 * builds it again with that batch size: building is cheap (no kernels run).
 *
 * @example
 * const g = new GraphBuilder({ dtype: "float64" })
 * const x = g.input("x", [4, 3])
 * const w = g.param("w", [2, 3])
 * const y = relu(linear(x, w))
 */
export class GraphBuilder {
  private current: Graph
  private counter = 0
  /** Role stamped on new nodes; the grad transform switches it to `gradient`. */
  role: "forward" | "gradient" = "forward"

  constructor(options: BuilderOptions = {}) {
    const dtype = options.dtype ?? "float32"
    if (!isFloatDType(dtype)) throw new GraphError(`graph dtype '${dtype}' is not a float dtype (expected float32 or float64)`)
    // Each op joins the graph's registry when it is first applied, so none is needed up front.
    const registry = options.registry ?? emptyRegistry
    this.current = freeze({ dtype, nodes: {}, order: [], registry }, true)
  }

  /** A builder that continues an existing graph (which itself stays unchanged). */
  static from(graph: Graph): GraphBuilder {
    const b = new GraphBuilder({ dtype: graph.dtype, registry: graph.registry })
    b.current = graph
    b.counter = graph.order.length
    return b
  }

  get graph(): Graph {
    return this.current
  }

  get dtype(): FloatDType {
    return this.current.dtype
  }

  /** A value for an output of a node already in the graph. */
  value(ref: OutputRef): Value {
    const node = this.current.nodes[ref.node]
    if (node === undefined) throw new GraphError(`no node '${ref.node}' in this graph`)
    const spec = node.outputs.find((o) => o.name === ref.output)
    if (spec === undefined) {
      throw new GraphError(`node '${ref.node}' has no output '${ref.output}' (it has ${node.outputs.map((o) => o.name).join(", ")})`, {
        node: ref.node,
        op: node.op,
      })
    }
    return new Value(this, { node: ref.node, output: ref.output }, spec)
  }

  /** A placeholder fed at run time under `name`. Float inputs take the graph's dtype. */
  input(name: string, shape: Shape, dtype?: DType): Value {
    const d = dtype ?? this.dtype
    this.checkDType(d, name, "input")
    return this.addLeaf("input", name, shape, d)
  }

  /** A trainable parameter read from the parameter store under `name`. */
  param(name: string, shape: Shape): Value {
    return this.addLeaf("param", name, shape, this.dtype)
  }

  /**
   * Applies an op to values and returns its outputs. Attrs are validated and output
   * shapes inferred now; errors name the node, the op and the input shapes.
   */
  apply<I extends string, J extends string, O extends string, P extends string, RawA, A extends Attrs>(
    op: OpDef<I, J, O, P, RawA, A>,
    inputs: OpInputs<I, J, Value | undefined>,
    ...rest: Record<string, never> extends RawA ? [attrs?: RawA, options?: ApplyOptions] : [attrs: RawA, options?: ApplyOptions]
  ): AppliedOutputs<O, P> {
    const [rawAttrs, options] = rest
    const anyOp = op as unknown as AnyOp
    const id = this.freshId(options?.name ?? op.name, options?.name !== undefined)
    const given = inputs as { readonly [k: string]: Value | undefined }
    const context: ErrorContext = { node: id, op: op.name, inputs: describeInputs(given) }

    const refs: { [name: string]: OutputRef } = {}
    const specs: { [name: string]: TensorSpec } = {}
    const allowed = new Set(inputNames(anyOp))
    for (const name of Object.keys(given)) {
      if (!allowed.has(name) && given[name] !== undefined) {
        throw new GraphError(`unknown input '${name}' (expected ${[...allowed].join(", ")})`, context)
      }
    }
    for (const name of inputNames(anyOp)) {
      const v = given[name]
      if (v === undefined) {
        if (op.inputs.includes(name as I)) throw new GraphError(`missing required input '${name}'`, context)
        continue
      }
      if (!(v instanceof Value)) throw new GraphError(`input '${name}' is not a graph value`, context)
      if (v.builder !== this) throw new GraphError(`input '${name}' belongs to another graph builder (expected values of this graph)`, context)
      refs[name] = v.ref
      specs[name] = v.spec
    }

    let attrs: A
    try {
      attrs = op.attrs ? op.attrs((rawAttrs ?? {}) as RawA) : ({} as A)
    } catch (e) {
      throw enrich(e, context, AttrError)
    }
    let inferred: { readonly [k: string]: TensorSpec }
    try {
      inferred = op.infer(specs as OpInputs<I, J, TensorSpec>, attrs, { dtype: this.dtype })
    } catch (e) {
      throw enrich(e, context, ShapeError)
    }
    const outputs: OutputSpec[] = []
    for (const name of outputNames(anyOp)) {
      const spec = inferred[name]
      if (spec === undefined) throw new ShapeError(`shape inference gave no spec for output '${name}'`, context)
      try {
        assertValidShape(spec.shape, `output '${name}' shape`)
      } catch (e) {
        throw enrich(e, context, ShapeError)
      }
      this.checkDType(spec.dtype, id, op.name)
      outputs.push({ name, shape: [...spec.shape], dtype: spec.dtype })
    }

    const node: GraphNode = { id, kind: "op", op: op.name, inputs: refs, attrs, outputs, role: this.role }
    const registry = withOp(this.current.registry, anyOp)
    this.commit(node, registry)
    const result: { [k: string]: Value } = {}
    for (const spec of outputs) result[spec.name] = new Value(this, { node: id, output: spec.name }, spec)
    return result as AppliedOutputs<O, P>
  }

  /** Removes nodes (used by the grad transform to prune what it did not need). */
  removeNodes(ids: ReadonlySet<string>): void {
    if (ids.size === 0) return
    this.current = produce(this.current, (d) => {
      for (const id of ids) delete d.nodes[id]
      d.order = d.order.filter((id) => !ids.has(id))
    })
  }

  private addLeaf(kind: "input" | "param", name: string, shape: Shape, dtype: DType): Value {
    if (name.length === 0) throw new GraphError(`${kind} name must not be empty`)
    if (this.current.nodes[name] !== undefined) {
      throw new GraphError(`a node named '${name}' already exists (expected unique ${kind} names)`, { node: name, op: kind })
    }
    try {
      assertValidShape(shape, `${kind} '${name}' shape`)
    } catch (e) {
      throw enrich(e, { node: name, op: kind }, ShapeError)
    }
    const spec: OutputSpec = { name: "y", shape: [...shape], dtype }
    const node: GraphNode = { id: name, kind, op: kind, inputs: {}, attrs: { shape: [...shape], dtype }, outputs: [spec], role: this.role }
    this.commit(node, this.current.registry)
    return new Value(this, { node: name, output: "y" }, spec)
  }

  private commit(node: GraphNode, registry: Registry): void {
    this.current = produce(this.current, (d) => {
      d.nodes[node.id] = castDraft(node)
      d.order.push(node.id)
      if (registry !== this.current.registry) d.registry = castDraft(registry)
    })
  }

  private freshId(base: string, explicit: boolean): string {
    if (explicit) {
      if (this.current.nodes[base] !== undefined) throw new GraphError(`a node named '${base}' already exists (expected unique node names)`)
      return base
    }
    let id: string
    do id = `${base}_${this.counter++}`
    while (this.current.nodes[id] !== undefined)
    return id
  }

  private checkDType(d: DType, node: string, op: string): void {
    if (d !== "int32" && d !== this.dtype) {
      throw new GraphError(`dtype ${d} in a ${this.dtype} graph (expected ${this.dtype} or int32; a graph computes in one float dtype)`, {
        node,
        op,
      })
    }
  }
}

function describeInputs(given: { readonly [k: string]: Value | undefined }): string[] {
  const out: string[] = []
  for (const [name, v] of Object.entries(given)) {
    if (v instanceof Value) out.push(`${name}: ${showShape(v.shape)} ${v.dtype}`)
  }
  return out
}

/** Adds node context to an error thrown by op code; wraps foreign errors. */
export function enrich(e: unknown, context: ErrorContext, Fallback: typeof ShapeError | typeof AttrError): DagradError {
  if (e instanceof DagradError) return e.withContext(context)
  const message = e instanceof Error ? e.message : String(e)
  return new Fallback(message, context, { cause: e })
}
