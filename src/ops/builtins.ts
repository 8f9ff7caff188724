/**
 * The built-in ops, one list per family. Importing this module registers nothing: the
 * root entry (`dagrad`) builds `builtinRegistry` from the list, and the builder adds each
 * op to a graph's registry when it is first applied, built-in or custom alike.
 */
import { accumulateOp } from "../autodiff/accumulate.ts"
import type { AnyOp } from "../graph/op.ts"
import { createRegistry, type Registry } from "../graph/registry.ts"
import { convOps } from "./conv/index.ts"
import { dropoutOps } from "./dropout/index.ts"
import { linalgOps } from "./linalg/index.ts"
import { lossOps } from "./loss/index.ts"
import { normOps } from "./norm/index.ts"
import { pointwiseOps } from "./pointwise/index.ts"
import { poolOps } from "./pool/index.ts"
import { researchPoolOps } from "./pool-research/index.ts"
import { reduceOps } from "./reduce/index.ts"
import { shapeOps } from "./shape/index.ts"
import { softmaxOps } from "./softmax/index.ts"

/** Every built-in op (and the grad transform's `accumulate`), in the order they are documented. */
export const builtinOps: readonly AnyOp[] = [
  ...pointwiseOps,
  ...reduceOps,
  ...shapeOps,
  ...linalgOps,
  ...convOps,
  ...poolOps,
  ...researchPoolOps,
  ...softmaxOps,
  ...lossOps,
  ...normOps,
  ...dropoutOps,
  accumulateOp,
] as unknown as readonly AnyOp[]

/**
 * A registry of every built-in op: what a graph read from outside (a file, another
 * thread) resolves its op names against. Graphs built with a GraphBuilder need none: each
 * op joins the graph's registry when it is applied.
 */
export const builtinRegistry: Registry = createRegistry(builtinOps)
