import type { DType, FloatDType } from "../tensor/dtype.ts"
import type { Shape } from "../tensor/shape.ts"

/** Shape and dtype of one tensor, known when the graph is built. */
export interface TensorSpec {
  readonly shape: Shape
  readonly dtype: DType
}

/** One output of a node: its name within the op (`y`, `indices`, ...) and its spec. */
export interface OutputSpec extends TensorSpec {
  readonly name: string
}

/** A reference to one output of one node: the edges of the graph. */
export interface OutputRef {
  readonly node: string
  readonly output: string
}

/** JSON-like attribute values, so a graph can be printed, compared and serialised. */
export type AttrValue = number | string | boolean | null | readonly AttrValue[] | { readonly [key: string]: AttrValue }
/** A node's attributes, by name (normalised by the op's `attrs` function). */
export type Attrs = { readonly [key: string]: AttrValue }

/**
 * `input`: a placeholder fed at run time (id = the feed name).
 * `param`: a trainable value read from a parameter store (id = the parameter name).
 * `op`: an application of a registered op.
 */
export type NodeKind = "input" | "param" | "op"

/** One node of a graph (Graph, ./builder.ts): a fed input, a parameter, or an application of an op, with its inputs, attrs and output specs. */
export interface GraphNode {
  readonly id: string
  readonly kind: NodeKind
  readonly op: string
  /** Input name -> the output it reads. Absent optional inputs are absent keys. */
  readonly inputs: { readonly [inputName: string]: OutputRef }
  readonly attrs: Attrs
  readonly outputs: readonly OutputSpec[]
  /** `forward` for nodes a user built, `gradient` for nodes appended by `grad`. */
  readonly role: "forward" | "gradient"
}

export function refKey(ref: OutputRef): string {
  return `${ref.node}:${ref.output}`
}

/** The spec of the output `ref` names; undefined when the graph has no such node or output. */
export function outputSpec(graph: { readonly nodes: { readonly [id: string]: GraphNode } }, ref: OutputRef): OutputSpec | undefined {
  return graph.nodes[ref.node]?.outputs.find((o) => o.name === ref.output)
}
