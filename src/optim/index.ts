/** Optimizers, learning-rate schedules and gradient clipping; optimizers update the tensors of a parameter store in place. */
export {
  GroupedOptimizer,
  isBiasOrNorm,
  type Optimizer,
  type OptimizerState,
  type ParamGroup,
  type ParamSelector,
  type GroupSpec,
  type WithGroups,
  type ParamState,
  type Group,
} from "./optimizer.ts"
export { SGD, type SGDOptions, type SGDState, type SGDBufferState, type SGDHyperParameters } from "./sgd.ts"
export { Adam, AdamW, AdamFamily, type AdamOptions, type AdamHyperParameters } from "./adam.ts"
export { RMSprop, type RMSpropOptions, type RMSpropHyperParameters } from "./rmsprop.ts"
export { Adagrad, type AdagradOptions, type AdagradHyperParameters } from "./adagrad.ts"
export {
  LRSchedulerBase,
  LambdaLR,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  OneCycleLR,
  SequentialLR,
  ChainedScheduler,
  type LRScheduler,
  type SchedulerState,
  type StepLROptions,
  type MultiStepLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
  type OneCycleLROptions,
} from "./lr-scheduler.ts"
export { clipGradNorm, clipGradValue, type ClipGradNormOptions, type Gradients } from "./clip.ts"
export { optimizerFromSpec, schedulerFromSpec, type OptimizerSpec, type SchedulerSpec } from "./from-spec.ts"
