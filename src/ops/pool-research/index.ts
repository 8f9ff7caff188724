/**
 * The research pooling variants (LogSumExp, SoftPool, ...): ops, functional wrappers, and
 * `researchPoolOps`, every op of this folder for a registry. Not registered in the
 * built-in registry: ops applied through a builder register themselves.
 */
import { smoothPoolOps } from "./smooth.ts"

export * from "./smooth.ts"
export { windowMembers, windowParams, listWindows, type WindowPoolOptions, type WindowList } from "./windows.ts"

/** Every op defined by the research pooling variants (forward and backward nodes). */
export const researchPoolOps = [...smoothPoolOps]
