/**
 * dagrad: a dataflow-graph engine with reverse-mode autodiff for CNNs.
 * This is the curated public surface; internals are imported by path.
 */
import "./ops/builtins.ts"

export * from "./errors.ts"
export type { DType, FloatDType, DataArray } from "./tensor/dtype.ts"
export { sizeOf, stridesOf, broadcastShapes, type Shape } from "./tensor/shape.ts"
export { tensor, zeros, full as fullTensor, scalar, cloneTensor, castTensor, item, toNested, type Tensor } from "./tensor/tensor.ts"
export { Random } from "./tensor/random.ts"
export type { Graph, GraphNode, OutputRef, OutputSpec, TensorSpec, Attrs, AttrValue, NodeKind } from "./graph/types.ts"
export { GraphBuilder, Value, type BuilderOptions, type ApplyOptions } from "./graph/builder.ts"
export { formatGraph, toDot } from "./graph/print.ts"
export { defineOp, type OpDef, type OpSpec, type AnyOp, type KernelArgs, type GradArgs, type Kernel } from "./ops/define.ts"
export { createRegistry, withOp, type Registry } from "./ops/registry.ts"
export { builtinOps, defaultRegistry } from "./ops/builtins.ts"
export { grad, gradValues, type GradOptions } from "./autodiff/grad.ts"
export { compile, run, Plan, topologicalOrder, type ParamStore, type RunOptions } from "./exec/plan.ts"
export * from "./ops/elementwise.ts"
export * from "./ops/reduce.ts"
export * from "./ops/shape.ts"
export * from "./ops/linalg.ts"
export * from "./ops/conv.ts"
export * from "./ops/pool/index.ts"
export * from "./ops/activations.ts"
export * from "./ops/loss.ts"
export * from "./ops/norm.ts"
