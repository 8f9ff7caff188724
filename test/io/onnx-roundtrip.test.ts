import { describe, expect, it } from "vitest"
import { SGD, buildModelGraph, cloneTensor, compile, crossEntropy, gradValues, initParameters, lenet5, tensor, type GraphBuilder, type Tensor, type Value } from "../../src/index.ts"
import { exportOnnx } from "../../src/io/onnx/export.ts"
import { importOnnx } from "../../src/io/onnx/import.ts"
import { castTensor } from "../../src/tensor/tensor.ts"
import { randomTensor } from "../helpers.ts"

const N = 8

/** Losses of `steps` SGD steps (momentum 0.9) on one fixed batch, starting from `params`. */
function fineTune(builder: GraphBuilder, logits: Value, wrt: ReadonlyMap<string, Value>, params: Map<string, Tensor>, steps: number): number[] {
  const target = builder.input("target", [N], "int32")
  const loss = crossEntropy(logits, target)
  const names = [...wrt.keys()]
  const grads = gradValues(builder, loss, [...wrt.values()])
  const plan = compile(builder.graph, [loss, ...grads])
  const opt = new SGD({ lr: 0.05, momentum: 0.9 })
  const losses: number[] = []
  const x = castTensor(randomTensor([N, 1, 28, 28], 100), "float32")
  const t = tensor(Array.from({ length: N }, (_, i) => (i * 7) % 10), [N], "int32")
  for (let step = 0; step < steps; step++) {
    const [l, ...g] = plan.run({ x, target: t }, params)
    losses.push(l.data[0])
    opt.step(params, new Map(names.map((n, i) => [n, g[i]])))
  }
  return losses
}

describe("export -> import -> fine-tune", () => {
  it("an exported and re-imported LeNet-5 fine-tunes with the same losses as the original graph, bit for bit", () => {
    const initial = initParameters(lenet5(), { seed: 21 })
    const original = buildModelGraph(lenet5(), { batchSize: N })
    const bytes = exportOnnx(original.builder.graph, { outputs: { logits: original.output }, params: initial })
    const imported = importOnnx(bytes, { batchSize: N })
    expect([...imported.params.keys()]).toEqual([...original.trainable.keys()])

    const a = fineTune(original.builder, original.output, original.trainable, new Map([...initial].map(([k, t]) => [k, cloneTensor(t)])), 5)
    const b = fineTune(imported.builder, imported.outputs.get("logits")!, imported.paramValues, imported.params, 5)
    expect(a[4]).toBeLessThan(a[0])
    expect(b).toEqual(a)
    // bit for bit, not merely equal as numbers
    expect(Array.from(new Uint32Array(Float32Array.from(b).buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from(a).buffer)))
  })

  it("export -> import -> export gives the same model again", () => {
    const params = initParameters(lenet5(), { seed: 2 })
    const m = buildModelGraph(lenet5(), { batchSize: 1 })
    const once = exportOnnx(m.builder.graph, { outputs: { logits: m.output }, params })
    const back = importOnnx(once)
    const twice = exportOnnx(back.graph, { outputs: { logits: back.outputs.get("logits")! }, params: back.params })
    const again = importOnnx(twice)
    expect(again.graph.order.map((id) => again.graph.nodes[id].op)).toEqual(back.graph.order.map((id) => back.graph.nodes[id].op))
    const x = castTensor(randomTensor([1, 1, 28, 28], 4), "float32")
    const [y1] = compile(back.graph, [back.outputs.get("logits")!]).run({ x }, back.params)
    const [y2] = compile(again.graph, [again.outputs.get("logits")!]).run({ x }, again.params)
    expect(Array.from(y2.data)).toEqual(Array.from(y1.data))
  })
})
