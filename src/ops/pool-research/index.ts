/**
 * The research pooling variants: LogSumExp and SoftPool (smooth maxima), fractional max
 * pooling (PyTorch-exact given its samples), stochastic pooling, mixed max-average
 * pooling (composed from max/avg pooling, so it adds no op), with functional wrappers and
 * `researchPoolOps`, every op of this folder for a registry. They are not in the built-in
 * registry: ops applied through a builder register themselves.
 */
import { fractionalPoolOps } from "./fractional.ts"
import { smoothPoolOps } from "./smooth.ts"
import { stochasticPoolOps } from "./stochastic.ts"

export * from "./smooth.ts"
export * from "./fractional.ts"
export * from "./stochastic.ts"
export * from "./mixed.ts"
export { windowMembers, windowParams, listWindows, type WindowPoolOptions, type WindowList } from "./windows.ts"

/** Every op defined by the research pooling variants (forward and backward nodes). */
export const researchPoolOps = [...smoothPoolOps, ...fractionalPoolOps, ...stochasticPoolOps]
