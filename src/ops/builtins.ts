import { setDefaultRegistryProvider } from "../graph/builder.ts"
import { activationOps } from "./pointwise/activations.ts"
import { convOps } from "./conv/index.ts"
import type { AnyOp } from "../graph/op.ts"
import { elementwiseOps } from "./pointwise/arithmetic.ts"
import { linalgOps } from "./linalg/index.ts"
import { lossOps } from "./loss/index.ts"
import { normOps } from "./norm/index.ts"
import { poolOps } from "./pool/index.ts"
import { reduceOps } from "./reduce/index.ts"
import { createRegistry, type Registry } from "../graph/registry.ts"
import { shapeOps } from "./shape/index.ts"

/** Every built-in op, in the order they are documented. */
export const builtinOps: readonly AnyOp[] = [
  ...elementwiseOps,
  ...reduceOps,
  ...shapeOps,
  ...linalgOps,
  ...convOps,
  ...poolOps,
  ...activationOps,
  ...lossOps,
  ...normOps,
] as unknown as readonly AnyOp[]

/** The registry builders use by default: the built-in ops. */
export const defaultRegistry: Registry = createRegistry(builtinOps)
setDefaultRegistryProvider(() => defaultRegistry)
