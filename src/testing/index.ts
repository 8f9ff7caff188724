/**
 * dagrad's gradient-testing kit (`import ... from "dagrad/testing"`): the same finite-
 * difference checker, fast-check arbitraries and golden runner our own suite uses.
 *
 * @module dagrad/testing
 */
export { checkGradients, checkOpGradients, type GradCheckOptions, type GradCheckReport, type GradCheckEntry, type GraphFunction } from "./gradcheck.ts"
export {
  shapeArb,
  tensorArb,
  distinctTensorArb,
  tieHeavyTensorArb,
  poolConfigArb,
  convConfigArb,
  type PoolConfig,
  type PoolConfigOptions,
  type ConvConfig,
  type ShapeArbOptions,
} from "./arbitraries.ts"
export {
  runGoldenCase,
  runGoldenFile,
  parseGoldenFile,
  compareToGolden,
  formatGoldenReport,
  goldenTensor,
  type GoldenCase,
  type GoldenFile,
  type CaseResult,
  type GoldenOptions,
} from "./golden.ts"
export type { GoldenTensor, Mismatch, CaseHandler } from "./golden.ts"
export { checkOpLaws, type OpLawReport } from "./laws.ts"
export { runTrainingCase, trainingTrajectoryHandler, type TrainingCaseResult, type TrainingMismatch, type TrainingCaseOptions } from "./training-golden.ts"
export {
  checkTieAwareGradients,
  checkTieAwareOp,
  type TieRule,
  type TieSite,
  type TieRuleResult,
  type TieCheckReport,
  type TieCheckOptions,
} from "../research/tie-check.ts"
export { phaseOne, type FeasibilityResult } from "../research/feasibility.ts"
export {
  poolCaseArb,
  poolInputArb,
  poolProblemArb,
  referencePoolLength,
  hasEmptyWindow,
  type PoolKind,
  type PoolCase,
  type PoolCaseOptions,
  type PoolValues,
  type PoolProblem,
} from "./pool-arbitraries.ts"
export {
  maxPoolSubject,
  adaptiveMaxPoolSubject,
  avgPoolSubject,
  customMaxPoolSubject,
  poolGradient,
  windowPreservingPermutation,
  checkShiftInvariance,
  checkPositiveScaling,
  checkWindowPermutationInvariance,
  checkGradientMass,
  checkAvgDivisorIdentity,
  type PoolSubject,
  type MetamorphicOptions,
  type MetamorphicReport,
} from "./metamorphic.ts"
export { randomTensor } from "./tensors.ts"
