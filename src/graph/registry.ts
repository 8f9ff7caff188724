import { GraphError } from "../errors.ts"
import { emptyRegistry, withOp, type AnyOp, type Registry } from "./builder.ts"

export { emptyRegistry, withOp, type Registry } from "./builder.ts"

/** A registry of `ops` (names must be unique). */
export function createRegistry(ops: readonly AnyOp[]): Registry {
  let reg: Registry = { ops: {} }
  for (const op of ops) reg = withOp(reg, op)
  return Object.freeze(reg)
}


export function lookupOp(reg: Registry, name: string, node?: string): AnyOp {
  const op = reg.ops[name]
  if (op === undefined) {
    throw new GraphError(`unknown op '${name}' (expected one of the registered ops; apply a custom op through the builder so it is registered)`, { node, op: name })
  }
  return op
}
