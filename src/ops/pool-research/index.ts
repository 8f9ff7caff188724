/**
 * The research pooling variants: LogSumExp and SoftPool (smooth maxima), fractional max
 * pooling (PyTorch-exact given its samples), with functional wrappers and
 * `researchPoolOps`, every op of this folder for a registry. They are not in the built-in
 * registry: ops applied through a builder register themselves.
 */
import { fractionalPoolOps } from "./fractional.ts"
import { smoothPoolOps } from "./smooth.ts"

export * from "./smooth.ts"
export * from "./fractional.ts"
export { windowMembers, windowParams, listWindows, type WindowPoolOptions, type WindowList } from "./windows.ts"

/** Every op defined by the research pooling variants (forward and backward nodes). */
export const researchPoolOps = [...smoothPoolOps, ...fractionalPoolOps]
