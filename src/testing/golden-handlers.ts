import type { CaseHandler } from "./golden.ts"

/**
 * Runners for golden ops that are not a single graph op. `training_trajectory` (a short
 * SGD run of a small CNN) is registered here once the training runner exists.
 */
export const goldenHandlers: { readonly [op: string]: CaseHandler } = {}
