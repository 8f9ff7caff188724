import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { AttrError, GraphBuilder, GraphError, adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool1d, avgPool2d, avgPool3d, batchNorm2d, buildModelGraph, compile, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, crossEntropy, elu, flatten, gelu, globalAvgPool, initParameters, leakyRelu, lenet5, linear, logSoftmax, lpPool2d, maxPool1d, maxPool2dWithIndices, maxPool3d, relu, reshape, sigmoid, softmax, softplus, sumPool2d, dropout, tanh, tensor, mean, sum as sumAll, type Tensor, type Value } from "../../src/index.ts"
import { exportOnnx } from "../../src/io/onnx/export.ts"
import { importOnnx } from "../../src/io/onnx/import.ts"
import { decodeModelProto, type NodeProto, type ValueInfoProto } from "../../src/io/onnx/proto.ts"
import { randomTensor } from "../helpers.ts"
import { castTensor } from "../../src/tensor/tensor.ts"

const rand32 = (shape: readonly number[], seed: number): Tensor => castTensor(randomTensor(shape, seed), "float32")
import { expectCloseRelative, runOrt } from "./ort.ts"

function randomParams(b: GraphBuilder, seed: number): Map<string, Tensor> {
  let k = seed * 1000
  const params = new Map<string, Tensor>()
  for (const id of b.graph.order) {
    const n = b.graph.nodes[id]
    if (n.kind !== "param") continue
    const t = rand32(n.outputs[0].shape, k++)
    // running variances must be positive
    if (id.endsWith("running_var")) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + Math.abs(t.data[i])
    params.set(id, t)
  }
  return params
}

/** A model using every exportable op family (2-d trunk, 1-d and 3-d branches), its params, feeds and outputs. */
function allOpsModel() {
  const b = new GraphBuilder()
  const p = (name: string, shape: number[]) => b.param(name, shape)
  const x = b.input("x", [2, 4, 11, 11])
  let h = conv2d(x, p("c1.weight", [6, 2, 3, 3]), p("c1.bias", [6]), { padding: "same", dilation: 2, groups: 2 })
  h = batchNorm2d(h, { weight: p("bn.weight", [6]), bias: p("bn.bias", [6]), running_mean: p("bn.running_mean", [6]), running_var: p("bn.running_var", [6]), eps: 1e-3 }).y
  h = relu(h)
  const pooled = maxPool2dWithIndices(h, { kernel_size: 3, stride: 2, padding: 1, dilation: 1, ceil_mode: true })
  const a1 = avgPool2d(pooled.y, { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: true })
  const a2 = avgPool2d(pooled.y, { kernel_size: 2, stride: 1, padding: 1, count_include_pad: false })
  const lp = lpPool2d(sigmoid(a2), { norm_type: 3, kernel_size: 2, stride: 2, ceil_mode: true })
  const up = convTranspose2d(leakyRelu(lp, 0.2), p("up.weight", [6, 3, 3, 3]), p("up.bias", [3]), { stride: 2, padding: 1, output_padding: 1 })
  const g1 = globalAvgPool(elu(up, 0.7))
  const g2 = adaptiveMaxPool2d(tanh(conv2d(a1, p("c2.weight", [4, 6, 1, 1]), undefined)), [2, 2])
  const g3 = adaptiveAvgPool2d(gelu(a1, "tanh"), [2, 1])
  const sum = sumPool2d(a1, { kernel_size: 3, stride: 2, ceil_mode: true })
  const feat = dropout(flatten(g1, 1), { p: 0.3, training: false })
  const head = linear(feat, p("fc.weight", [5, 3]), p("fc.bias", [5]))
  const probs = softmax(softplus(head, 2), 1)
  const logp = logSoftmax(gelu(reshape(g2, [2, 16])), 1)
  const s = b.input("s", [2, 3, 20])
  const s1 = maxPool1d(conv1d(s, p("a.weight", [4, 3, 5]), p("a.bias", [4]), { stride: 2, padding: 2 }), { kernel_size: 3, stride: 2, padding: 1, dilation: 1 })
  const s2 = convTranspose1d(avgPool1d(s1, { kernel_size: 2, ceil_mode: true }), p("at.weight", [4, 2, 3]), undefined, { stride: 2 })
  const v = b.input("v", [2, 2, 6, 6, 6])
  const v1 = maxPool3d(conv3d(v, p("v.weight", [3, 2, 3, 3, 3]), p("v.bias", [3]), { padding: 1 }), { kernel_size: 2 })
  const v2 = convTranspose3d(avgPool3d(v1, { kernel_size: 3, stride: 1, padding: 1 }), p("vt.weight", [3, 2, 2, 2, 2]), p("vt.bias", [2]), { stride: 2 })
  const params = randomParams(b, 3)
  const feeds = { x: rand32([2, 4, 11, 11], 91), s: rand32([2, 3, 20], 92), v: rand32([2, 2, 6, 6, 6], 93) }
  const m1 = mean(s2, [1, 2], true)
  const m2 = sumAll(v2, [-1])
  const outputs: Record<string, Value> = { probs, logp, g3, sum, indices: pooled.indices, s2, v2, m1, m2 }
  return { graph: b.graph, params, feeds, outputs }
}

describe("ONNX export, run in onnxruntime-node", () => {
  it("LeNet-5 gives dagrad's outputs within 1e-5 relative", async () => {
    const m = buildModelGraph(lenet5(), { batchSize: 4 })
    const params = initParameters(lenet5(), { seed: 11 })
    const x = rand32([4, 1, 28, 28], 5)
    const [y] = compile(m.builder.graph, [m.output]).run({ x }, params)
    const ort = await runOrt(exportOnnx(m.builder.graph, { outputs: { logits: m.output }, params }), { x })
    expect(ort.logits.dims).toEqual([4, 10])
    expectCloseRelative(ort.logits.data, y.data)
  })

  it("a model using every exportable op family gives dagrad's outputs (and max-pool indices in PyTorch's layout)", async () => {
    const { graph, params, feeds, outputs } = allOpsModel()
    const fetched = compile(graph, Object.values(outputs)).run(feeds, params)
    const ort = await runOrt(exportOnnx(graph, { outputs, params }), feeds)
    Object.keys(outputs).forEach((name, i) => {
      expect(ort[name].dims, name).toEqual(fetched[i].shape)
      if (name === "indices") expect(Array.from(ort[name].data), name).toEqual(Array.from(fetched[i].data))
      else expectCloseRelative(ort[name].data, fetched[i].data, 1e-5, name)
    })
  })

  it("the all-ops model round-trips: export -> import computes the same, and its re-export runs in onnxruntime", async () => {
    const { graph, params, feeds, outputs } = allOpsModel()
    const fetched = compile(graph, Object.values(outputs)).run(feeds, params)
    const bytes = exportOnnx(graph, { outputs, params })
    const back = importOnnx(bytes, { batchSize: 2 })
    // initializers are the parameters, under their dagrad names; constants stay constants
    expect([...back.params.keys()].sort()).toEqual([...params.keys()].sort())
    const names = Object.keys(outputs)
    const again = compile(back.graph, names.map((n) => back.outputs.get(n)!)).run(feeds, back.params)
    names.forEach((name, i) => {
      expect(again[i].shape, name).toEqual(fetched[i].shape)
      if (name === "indices") expect(Array.from(again[i].data), name).toEqual(Array.from(fetched[i].data))
      else expectCloseRelative(again[i].data, fetched[i].data, 1e-6, name)
    })
    const reexported = exportOnnx(back.graph, { outputs: Object.fromEntries(names.map((n) => [n, back.outputs.get(n)!])), params: back.params })
    const ort = await runOrt(reexported, feeds)
    names.forEach((name, i) => {
      if (name === "indices") expect(Array.from(ort[name].data), name).toEqual(Array.from(fetched[i].data))
      else expectCloseRelative(ort[name].data, fetched[i].data, 1e-5, name)
    })
  })

  it("lists every node it cannot export, and names the adaptive pool ONNX cannot express", () => {
    const b = new GraphBuilder()
    const x = b.input("x", [2, 3, 7, 7])
    const y = adaptiveAvgPool2d(x, [3, 3])
    expect(() => exportOnnx(b.graph, { outputs: { y }, params: new Map() })).toThrow(AttrError)
    expect(() => exportOnnx(b.graph, { outputs: { y }, params: new Map() })).toThrow(
      /node 'adaptive_avg_pool2d_0' op adaptive_avg_pool2d: cannot export to ONNX: output_size \[3, 3\] on input \[2, 3, 7, 7\]: spatial dim 0 of size 7 is not a multiple of 3/,
    )
    const t = b.input("t", [2], "int32")
    const loss = crossEntropy(flatten(globalAvgPool(x), 1), t)
    expect(() => exportOnnx(b.graph, { outputs: { loss }, params: new Map() })).toThrow(GraphError)
    expect(() => exportOnnx(b.graph, { outputs: { loss }, params: new Map() })).toThrow(/1 node\(s\) have ops with no ONNX export: 'cross_entropy_\d+' \(cross_entropy\)/)
    expect(() => exportOnnx(b.graph, { outputs: { y }, params: new Map(), opset: 13 })).toThrow(/opset 13 \(expected 17 to 21\)/)
    const dropped = dropout(x, { p: 0.5, training: true, seed: b.input("seed", [], "int32") })
    expect(() => exportOnnx(b.graph, { outputs: { dropped }, params: new Map() })).toThrow(/op dropout: cannot export to ONNX: dropout in training mode/)
    void tensor
  })
})

describe("ONNX export writes what torch.onnx.export writes", () => {
  it("LeNet-5: the same nodes, attributes, initializer names and shapes, input and output as PyTorch's lenet5.onnx", () => {
    const m = buildModelGraph(lenet5(), { batchSize: 1 })
    const ours = decodeModelProto(exportOnnx(m.builder.graph, { outputs: { y: m.output }, params: initParameters(lenet5()) })).graph!
    const torch = decodeModelProto(readFileSync(new URL("onnx-fixtures/lenet5.onnx", import.meta.url))).graph!
    const attrs = (n: NodeProto) => Object.fromEntries(n.attribute.filter((a) => a.name !== "dilations" || n.opType !== "MaxPool").map((a) => [a.name, a.type === 7 ? a.ints : a.type === 2 ? a.i : a.f]))
    expect(ours.node.map((n) => [n.opType, attrs(n)])).toEqual(torch.node.map((n) => [n.opType, attrs(n)]))
    expect(ours.initializer.map((t) => [t.name, t.dims])).toEqual(torch.initializer.map((t) => [t.name, t.dims]))
    const io = (v: ValueInfoProto[]) => v.map((i) => [i.name, i.type?.tensorType?.elemType, i.type?.tensorType?.shape?.dim.map((d) => d.dimParam || d.dimValue)])
    expect(io(ours.input)).toEqual(io(torch.input))
    expect(io(ours.output)).toEqual(io(torch.output))
    // node wiring: each node reads what the previous one wrote, the last writes y
    expect(ours.node.at(-1)!.output).toEqual(["y"])
    ours.node.slice(1).forEach((n, i) => expect(n.input[0]).toBe(ours.node[i].output[0]))
  })
})

describe("ONNX export options", () => {
  it("opset 18 writes ReduceMean's axes as an input and opset 20 a native Gelu; both run in onnxruntime", async () => {
    for (const opset of [18, 20]) {
      const { graph, params, feeds, outputs } = allOpsModel()
      const fetched = compile(graph, Object.values(outputs)).run(feeds, params)
      const bytes = exportOnnx(graph, { outputs, params, opset })
      const ops = decodeModelProto(bytes).graph!.node.map((n) => n.opType)
      expect(ops.includes("Gelu"), `opset ${opset}`).toBe(opset >= 20)
      const ort = await runOrt(bytes, feeds)
      Object.keys(outputs).forEach((name, i) => expectCloseRelative(ort[name].data, fetched[i].data, 1e-5, `${name} at opset ${opset}`))
    }
  })
})
