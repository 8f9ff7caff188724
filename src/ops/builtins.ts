import { setDefaultRegistryProvider } from "../graph/builder.ts"
import { activationOps } from "./activations.ts"
import { convOps } from "./conv.ts"
import type { AnyOp } from "./define.ts"
import { elementwiseOps } from "./elementwise.ts"
import { linalgOps } from "./linalg.ts"
import { lossOps } from "./loss.ts"
import { normOps } from "./norm.ts"
import { poolOps } from "./pool/index.ts"
import { reduceOps } from "./reduce.ts"
import { createRegistry, type Registry } from "./registry.ts"
import { shapeOps } from "./shape.ts"

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
