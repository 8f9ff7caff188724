/**
 * dagrad: a dataflow-graph engine with reverse-mode autodiff for convolutional networks.
 * Build a graph, differentiate it (a graph-to-graph transform), compile it, run it.
 * Browser-safe: this entry imports no Node module.
 *
 * This list is the public API: each name is here on purpose, grouped by what it is for,
 * and test/api pins it. Everything else is internal and may change.
 *
 * @example
 * import { GraphBuilder, conv2d, relu, flatten, linear, crossEntropy, grad, compile } from "dagrad"
 *
 * @module dagrad
 */

// ---------------------------------------------------------------- errors
export { DagradError, GraphError, ShapeError, AttrError, FeedError, KernelError, FormatError, AnomalyError, type ErrorContext } from "./errors.ts"

// ---------------------------------------------------------------- tensors
export type { DType, FloatDType, DataArray, FloatArray } from "./tensor/dtype.ts"
export { sizeOf, broadcastShapes, type Shape } from "./tensor/shape.ts"
export { tensor, zeros, full as fullTensor, scalar, cloneTensor, castTensor, item, toNested, type Tensor } from "./tensor/tensor.ts"
export { Random } from "./tensor/random.ts"

// ---------------------------------------------------------------- building graphs
export type { GraphNode, OutputRef, OutputSpec, TensorSpec, Attrs, AttrValue, NodeKind } from "./graph/types.ts"
export { GraphBuilder, Value, type Graph, type BuilderOptions, type ApplyOptions, type AppliedOutputs } from "./graph/builder.ts"
export { formatGraph, toDot } from "./graph/print.ts"

// ---------------------------------------------------------------- defining ops (built-ins use the same API)
export {
  defineOp,
  type OpDef,
  type OpSpec,
  type AnyOp,
  type OpInputs,
  type OpOutputs,
  type InferContext,
  type KernelArgs,
  type Kernel,
  type GradArgs,
  type Activation,
  type EpilogueSpec,
} from "./graph/op.ts"
export { pointwiseOp, type PointwiseRule, type PointwiseOp } from "./ops/pointwise/table.ts"
export { createRegistry, withOp, emptyRegistry, type Registry } from "./graph/registry.ts"
export { builtinOps, builtinRegistry } from "./ops/builtins.ts"
export { spatialParam, positiveInteger, booleanAttr, requireNumber, requireFloat, type SpatialParam } from "./ops/attrs.ts"

// ---------------------------------------------------------------- autodiff and execution
export { grad, gradValues, type GradOptions } from "./autodiff/grad.ts"
export { compile, run, Plan, topologicalOrder, type ParamStore, type RunOptions } from "./exec/plan.ts"
export type { NodeObserver } from "./exec/plan.ts"

// ---------------------------------------------------------------- threads (a backend plugs in here; dagrad/node has one)
export { setParallelBackend, parallelBackend, setAdaptiveThreads, adaptiveThreads, runSerially, taskFunction, parallelTasks, type ParallelBackend, type TaskArgs, type TaskFunction } from "./exec/parallel.ts"
export { installKernelTask } from "./exec/offload.ts"

// ---------------------------------------------------------------- kernel backend (WebAssembly SIMD or JavaScript for float32)
export { setKernelBackend, kernelBackend, useWasmKernels, wasmAvailable, wasmUnavailableReason, compileKernelsAsync, setRelaxedSimd, relaxedSimdEnabled, type KernelBackendName } from "./kernels/backend.ts"

// ---------------------------------------------------------------- ops: pointwise
export { full, fullOp } from "./graph/constant.ts"
export { add, sub, mul, div, neg, pow, scale, addScalar, whereNonzero } from "./ops/pointwise/arithmetic.ts"
export { sumTo, expand } from "./ops/pointwise/broadcast.ts"
export {
  exp,
  log,
  tanh,
  sigmoid,
  relu,
  reluBackward,
  leakyRelu,
  leakyReluBackward,
  elu,
  eluBackward,
  gelu,
  geluBackward,
  softplus,
  softplusBackward,
  silu,
  siluBackward,
} from "./ops/pointwise/unary.ts"
export { addOp, subOp, mulOp, divOp, negOp, powOp, scaleOp, addScalarOp } from "./ops/pointwise/arithmetic.ts"
export { expOp, logOp, tanhOp, sigmoidOp, reluOp, leakyReluOp, eluOp, geluOp, softplusOp, siluOp } from "./ops/pointwise/index.ts"

// ---------------------------------------------------------------- ops: reductions, shapes, linear algebra
export { sum, mean, sumOp, meanOp } from "./ops/reduce/index.ts"
export { reshape, flatten, permute, transpose, reshapeOp, flattenOp, permuteOp, transposeOp } from "./ops/shape/index.ts"
export { matmul, linear, matmulOp, linearOp } from "./ops/linalg/index.ts"

// ---------------------------------------------------------------- ops: convolution
export {
  conv1d,
  conv2d,
  conv3d,
  convTranspose1d,
  convTranspose2d,
  convTranspose3d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv1dOp,
  conv2dOp,
  conv3dOp,
  convTranspose1dOp,
  convTranspose2dOp,
  convTranspose3dOp,
  type ConvOptions,
  type ConvTransposeOptions,
  type ConvAttrs,
  type ConvTransposeAttrs,
} from "./ops/conv/index.ts"
export type { RawConvAttrs } from "./ops/conv/geometry.ts"
export type { RawConvTransposeAttrs } from "./ops/conv/transpose.ts"

// ---------------------------------------------------------------- ops: pooling
export {
  maxPool1d,
  maxPool2d,
  maxPool3d,
  maxPool1dWithIndices,
  maxPool2dWithIndices,
  maxPool3dWithIndices,
  maxPool2dBackward,
  avgPool1d,
  avgPool2d,
  avgPool3d,
  avgPool2dBackward,
  sumPool1d,
  sumPool2d,
  sumPool3d,
  lpPool1d,
  lpPool2d,
  lpPool3d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  adaptiveMaxPool3d,
  adaptiveMaxPool1dWithIndices,
  adaptiveMaxPool2dWithIndices,
  adaptiveMaxPool3dWithIndices,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveAvgPool3d,
  globalMaxPool,
  globalAvgPool,
  maxUnpool1d,
  maxUnpool2d,
  maxUnpool3d,
  poolOutputSize,
  poolOutputShape,
  explainPoolShape,
  maxPool1dOp,
  maxPool2dOp,
  maxPool3dOp,
  avgPool1dOp,
  avgPool2dOp,
  avgPool3dOp,
  lpPool1dOp,
  lpPool2dOp,
  lpPool3dOp,
  adaptiveMaxPool1dOp,
  adaptiveMaxPool2dOp,
  adaptiveMaxPool3dOp,
  adaptiveAvgPool1dOp,
  adaptiveAvgPool2dOp,
  adaptiveAvgPool3dOp,
  maxUnpool1dOp,
  maxUnpool2dOp,
  maxUnpool3dOp,
  type TiePolicy,
  type NanPolicy,
  type MaxPoolOptions,
  type AvgPoolOptions,
  type LpPoolOptions,
  type AdaptiveSize,
  type AdaptiveMaxPoolOptions,
  type MaxUnpoolOptions,
} from "./ops/pool/index.ts"
export type {
  MaxPoolAttrs,
  AvgPoolAttrs,
  LpPoolAttrs,
  AdaptiveAvgPoolAttrs,
  AdaptiveMaxPoolAttrs,
  MaxUnpoolAttrs,
  PoolParams,
  PoolWithIndices,
} from "./ops/pool/index.ts"
export type { ExplainPoolOptions } from "./ops/pool/geometry.ts"
export type { MaxPolicyAttrs } from "./ops/pool/max-family.ts"

// ---------------------------------------------------------------- ops: pooling variants researchers compare
export {
  fractionalMaxPool2d,
  fractionalMaxPool3d,
  stochasticPool,
  stochasticPool2d,
  mixedPool,
  mixedPool2d,
  lsePool1d,
  lsePool2d,
  lsePool3d,
  softPool1d,
  softPool2d,
  softPool3d,
  fractionalMaxPool2dOp,
  fractionalMaxPool3dOp,
  lsePool2dOp,
  softPool2dOp,
  type FractionalMaxPoolOptions,
  type FractionalResult,
  type SmoothPoolOptions,
  type MixedPoolOptions,
  type WindowPoolOptions,
} from "./ops/pool-research/index.ts"

// ---------------------------------------------------------------- ops: softmax, losses, normalisation, dropout
export { softmax, logSoftmax, softmaxBackward, logSoftmaxBackward, softmaxOp, logSoftmaxOp } from "./ops/softmax/index.ts"
export {
  crossEntropy,
  nllLoss,
  mseLoss,
  binaryCrossEntropyWithLogits,
  crossEntropyOp,
  nllLossOp,
  mseLossOp,
  binaryCrossEntropyWithLogitsOp,
  type BceWithLogitsOptions,
} from "./ops/loss/index.ts"
export type { CrossEntropyOptions, NllLossOptions, LossReduction } from "./ops/loss/index.ts"
export type { NllAttrs, RawNllAttrs } from "./ops/loss/nll.ts"
export { batchNorm, batchNorm2d, batchNorm2dOp, type BatchNormResult, type BatchNorm2dOptions } from "./ops/norm/index.ts"
export { dropout, dropoutOp, type DropoutOptions } from "./ops/dropout/index.ts"

// ---------------------------------------------------------------- layers, models, training
export * from "./nn/index.ts"
export * from "./optim/index.ts"

// ---------------------------------------------------------------- data
export {
  MNIST_MEAN,
  MNIST_STD,
  takeExamples,
  normalizationTable,
  epochOrder,
  epochSeed,
  batchCount,
  makeBatch,
  batches,
  type ImageDataset,
  type Batch,
  type BatchOptions,
  type BatchAllocator,
} from "./data/batches.ts"

// ---------------------------------------------------------------- looking inside a run (also dagrad/inspect)
export { inspectRouting, routingSummary, type RoutingMap, type InspectOptions } from "./research/routing.ts"
export { heatmapSvg, asciiHeatmap, type Heatmap } from "./research/heatmap.ts"
