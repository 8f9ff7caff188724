import { GraphError } from "../errors.ts"
import type { AnyOp } from "./op.ts"

/**
 * An immutable map from op name to definition. The built-in ops are only the default
 * list; a graph extends its registry when a custom op is first applied, so custom ops
 * need no registration step and behave exactly like built-ins.
 */
export interface Registry {
  readonly ops: { readonly [name: string]: AnyOp }
}

export function createRegistry(ops: readonly AnyOp[]): Registry {
  let reg: Registry = { ops: {} }
  for (const op of ops) reg = withOp(reg, op)
  return Object.freeze(reg)
}

/** The registry with `op` added; the same registry if it is already there. */
export function withOp(reg: Registry, op: AnyOp): Registry {
  const existing = reg.ops[op.name]
  if (existing === op) return reg
  if (existing !== undefined) {
    throw new GraphError(`two different ops are named '${op.name}' (expected op names to be unique; rename the custom op)`)
  }
  return Object.freeze({ ops: Object.freeze({ ...reg.ops, [op.name]: op }) })
}

export function lookupOp(reg: Registry, name: string, node?: string): AnyOp {
  const op = reg.ops[name]
  if (op === undefined) {
    throw new GraphError(`unknown op '${name}' (expected one of the registered ops; apply a custom op through the builder so it is registered)`, { node, op: name })
  }
  return op
}
