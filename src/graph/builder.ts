import { freeze, produce, castDraft } from "immer"
import { AttrError, DagradError, GraphError, ShapeError, showShape, type ErrorContext } from "../errors.ts"
import { inputNames, outputNames, type AnyOp, type OpDef, type OpInputs } from "./op.ts"
import { emptyRegistry, withOp, type Registry } from "./registry.ts"
import { isFloatDType, type DType, type FloatDType } from "../tensor/dtype.ts"
import { assertValidShape, type Shape } from "../tensor/shape.ts"
import type { Attrs, Graph, GraphNode, OutputRef, OutputSpec, TensorSpec } from "./types.ts"

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
