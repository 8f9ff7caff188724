import type { CaseHandler } from "./golden.ts"
import { moduleGoldenHandlers } from "./module-golden.ts"
import { trainingTrajectoryHandler } from "./training-golden.ts"

/**
 * Runners for golden ops that are not a single graph op: `training_trajectory` builds the
 * recorded small CNN, trains it with our SGD and compares every loss and parameter;
 * `module` and `pool_unpool` run whole torch.nn layers (test/golden/layers.json).
 */
export const goldenHandlers: { readonly [op: string]: CaseHandler } = {
  training_trajectory: trainingTrajectoryHandler,
  ...moduleGoldenHandlers,
}
