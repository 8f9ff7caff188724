/**
 * Every error dagrad raises on bad input is one of these classes. Op code throws them
 * with only the "expected ..." part; the builder, the grad transform and the executor
 * catch and re-throw them enriched with the node id, the op and the input shapes, so a
 * user always learns *where* (node), *what* (op and shapes) and *what was expected*.
 */

/** Where an error happened: a node of a graph and the specs of its inputs. */
export interface ErrorContext {
  readonly node?: string
  readonly op?: string
  /** "name: [2, 3] float32" per input, in the op's input order. */
  readonly inputs?: readonly string[]
}

/** Base class: `expected` is the bare explanation, `message` the full sentence. */
export class DagradError extends Error {
  readonly expected: string
  readonly context: ErrorContext

  constructor(expected: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(formatMessage(expected, context), options)
    this.name = new.target.name
    this.expected = expected
    this.context = context
  }

  /** The same error class with more context (fields already set are kept). */
  withContext(context: ErrorContext): DagradError {
    const merged = { ...context, ...stripUndefined(this.context) }
    const Ctor = this.constructor as new (e: string, c: ErrorContext, o?: { cause?: unknown }) => DagradError
    return new Ctor(this.expected, merged, { cause: this.cause })
  }
}

/** Structural problems of a graph: unknown node, cycle, dangling reference, dtype mixing. */
export class GraphError extends DagradError {}
/** Input shapes an op cannot accept, or an output shape that would be empty. */
export class ShapeError extends DagradError {}
/** Attribute values an op cannot accept (stride 0, unknown reduction, ...). */
export class AttrError extends DagradError {}
/** Feeds and parameters given to the executor: missing, wrong shape or dtype. */
export class FeedError extends DagradError {}
/** A kernel failed while running (a bug in an op, or data it cannot handle). */
export class KernelError extends DagradError {}
/** Files we read (IDX, checkpoints) that are truncated, corrupt or of the wrong kind. */
export class FormatError extends DagradError {}

function stripUndefined(c: ErrorContext): ErrorContext {
  const out: { -readonly [K in keyof ErrorContext]: ErrorContext[K] } = {}
  if (c.node !== undefined) out.node = c.node
  if (c.op !== undefined) out.op = c.op
  if (c.inputs !== undefined) out.inputs = c.inputs
  return out
}

function formatMessage(expected: string, c: ErrorContext): string {
  const where: string[] = []
  if (c.node !== undefined) where.push(`node '${c.node}'`)
  if (c.op !== undefined) where.push(`op ${c.op}`)
  const head = where.length > 0 ? where.join(" ") + ": " : ""
  const inputs = c.inputs !== undefined && c.inputs.length > 0 ? ` (inputs ${c.inputs.join(", ")})` : ""
  return `${head}${expected}${inputs}`
}

/** Formats a shape the way error messages and printouts show it: `[2, 3, 4]`. */
export function showShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`
}

/**
 * Anomaly detection (`plan.run(feeds, params, { detectAnomaly: true })`): the first node
 * whose output holds NaN or ±Infinity, with its op, the forward node a gradient node
 * differentiates and the ranges of its inputs.
 */
export class AnomalyError extends DagradError {}
