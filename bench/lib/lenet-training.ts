/**
 * The Trainer's LeNet-5 training graph (batch 64, float32) built by hand, with the bench's
 * shared weights and batch, for scripts that run its plan with hooks (bench/profile-w1.ts,
 * bench/arena.ts).
 */
import { crossEntropy, gradValues, type Tensor, type Value } from "../../src/index.ts"
import { buildModelGraph, lenet5 } from "../../src/nn/index.ts"
import { lenetBatch, lenetParams } from "./data.ts"
import { engineLabels, engineTensor } from "../systems/dagrad-ops.ts"

export interface LenetTraining {
  readonly graph: ReturnType<typeof buildModelGraph>["builder"]["graph"]
  readonly loss: Value
  /** Parameter names, in the order of `grads`. */
  readonly names: readonly string[]
  readonly grads: readonly Value[]
  readonly params: Map<string, Tensor>
  readonly feeds: { readonly [name: string]: Tensor }
}

/** LeNet-5's training graph at `batch`: loss and parameter gradients, weights and one batch. */
export function lenetTraining(batch = 64): LenetTraining {
  const g = buildModelGraph(lenet5(), { batchSize: batch, training: true, dtype: "float32" })
  const target = g.builder.input("target", [batch], "int32")
  const loss = crossEntropy(g.output, target, { reduction: "mean" })
  const names = [...g.trainable.keys()]
  const grads = gradValues(g.builder, loss, [...g.trainable.values()])
  const params = new Map<string, Tensor>()
  for (const [name, t] of lenetParams()) params.set(name, engineTensor(t))
  const { x, labels } = lenetBatch(batch)
  return { graph: g.builder.graph, loss, names, grads, params, feeds: { x: engineTensor(x), target: engineLabels(labels) } }
}
