import { GraphError } from "../errors.ts"
import type { AnyOp } from "./op.ts"

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

/** A registry of `ops` (names must be unique). */
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
