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
export { Block } from "./block.ts"
export {
  Conv1d,
  Conv2d,
  Conv3d,
  ConvTranspose1d,
  ConvTranspose2d,
  ConvTranspose3d,
  Linear,
  Flatten,
  ReLU,
  LeakyReLU,
  type ConvLayerOptions,
  type ConvTransposeLayerOptions,
  type LinearLayerOptions,
  type SpatialArg,
} from "./layers.ts"
export { Identity, Tanh, Sigmoid, GELU, ELU, Softplus, Softmax, LogSoftmax } from "./activations.ts"
export {
  MaxPoolNd,
  MaxPool1d,
  MaxPool2d,
  MaxPool3d,
  AvgPoolNd,
  AvgPool1d,
  AvgPool2d,
  AvgPool3d,
  LPPoolNd,
  LPPool1d,
  LPPool2d,
  LPPool3d,
  AdaptiveAvgPoolNd,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AdaptiveAvgPool3d,
  AdaptiveMaxPoolNd,
  AdaptiveMaxPool1d,
  AdaptiveMaxPool2d,
  AdaptiveMaxPool3d,
  MaxUnpoolNd,
  MaxUnpool1d,
  MaxUnpool2d,
  MaxUnpool3d,
  GlobalAvgPool2d,
  type MaxPoolLayerOptions,
  type AvgPoolLayerOptions,
  type LPPoolLayerOptions,
  type AdaptiveMaxPoolLayerOptions,
  type MaxUnpoolLayerOptions,
} from "./pooling.ts"
export { BatchNormNd, BatchNorm1d, BatchNorm2d, BatchNorm3d, Dropout, type BatchNormLayerOptions } from "./normalization.ts"
export { summary, groupThousands, type ModelSummary, type SummaryRow, type SummaryOptions } from "./summary.ts"
export { lenet5, mlp, fromLayerSpecs, type LeNet5Options, type MlpOptions, type LayerSpec } from "./models.ts"
export { resnet8, BasicBlock, ResNet, type ResNetOptions } from "./resnet.ts"
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
