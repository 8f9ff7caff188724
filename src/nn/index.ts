/**
 * Layers, initialisers, model summaries, ready-made models and the training-step helper.
 * Parameters live in a store (`Map<string, Tensor>`) under PyTorch-style dotted names
 * (`conv1.weight`, `fc1.bias`; `0.weight` for an unnamed Sequential).
 */
export {
  ForwardContext,
  namedParameters,
  countParameters,
  initParameters,
  buildModelGraph,
  type Module,
  type ParamSpec,
  type NamedParam,
  type LayerObserver,
  type InitOptions,
  type BuildOptions,
  type ModelGraph,
} from "./module.ts"
export {
  calculateGain,
  fanInAndOut,
  defaultWeightInit,
  defaultBiasInit,
  uniformBound,
  initializeInPlace,
  initTensor,
  describeInit,
  type Initializer,
  type Nonlinearity,
} from "./init.ts"
export { Sequential, type SequentialOptions } from "./sequential.ts"
export { Conv2d, Conv1d, Linear, Flatten, ReLU, LeakyReLU, type ConvLayerOptions, type LinearLayerOptions, type SpatialArg } from "./layers.ts"
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, GlobalAvgPool2d, type MaxPoolLayerOptions, type AvgPoolLayerOptions } from "./pooling.ts"
export { BatchNorm2d, Dropout, type BatchNormLayerOptions } from "./normalization.ts"
export { summary, groupThousands, type ModelSummary, type SummaryRow, type SummaryOptions } from "./summary.ts"
export { lenet5, mlp, fromLayerSpecs, type LeNet5Options, type MlpOptions, type LayerSpec } from "./models.ts"
export {
  Trainer,
  oneHot,
  argmaxRows,
  countCorrect,
  type LossKind,
  type TrainerOptions,
  type StepOptions,
  type EvaluateResult,
} from "./trainer.ts"
