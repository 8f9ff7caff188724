import { describe, expect, it } from "vitest"
import { AttrError, GraphError, ShapeError, compile, tensor } from "../../src/index.ts"
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv1d, Conv2d, Flatten, ForwardContext, GlobalAvgPool2d, LeakyReLU, Linear, MaxPool2d, ReLU, Sequential, buildModelGraph, countParameters, fromLayerSpecs, initParameters, lenet5, mlp, namedParameters, summary, uniformBound, type Module } from "../../src/nn/index.ts"

describe("summary", () => {
  it("reports LeNet-5 on 1x28x28 with 61,706 parameters and each layer's output shape", () => {
    const s = summary(lenet5(), [1, 28, 28])
    expect(s.totalParams).toBe(61706)
    expect(s.trainableParams).toBe(61706)
    expect(s.nonTrainableParams).toBe(0)
    const rows = Object.fromEntries(s.rows.map((r) => [r.name, [r.outputShape.slice(1), r.params]]))
    expect(rows).toEqual({
      conv1: [[6, 28, 28], 156],
      relu1: [[6, 28, 28], 0],
      pool1: [[6, 14, 14], 0],
      conv2: [[16, 10, 10], 2416],
      relu2: [[16, 10, 10], 0],
      pool2: [[16, 5, 5], 0],
      flatten: [[400], 0],
      fc1: [[120], 48120],
      relu3: [[120], 0],
      fc2: [[84], 10164],
      relu4: [[84], 0],
      fc3: [[10], 850],
    })
    expect(s.text).toContain("Total params: 61,706")
    expect(s.text).toMatch(/conv1 \(Conv2d\)\s+\[N, 6, 28, 28\]\s+156/)
    expect(countParameters(lenet5())).toBe(61706)
  })

  it("counts batch norm statistics as non-trainable and the default MLP as 203,530", () => {
    const net = new Sequential({ conv: new Conv2d(3, 4, 3), bn: new BatchNorm2d(4), pool: new GlobalAvgPool2d(), fc: new Linear(4, 2) })
    const s = summary(net, [3, 8, 8])
    expect(s.trainableParams).toBe(3 * 4 * 9 + 4 + 8 + 10)
    expect(s.nonTrainableParams).toBe(8)
    expect(s.rows.map((r) => r.outputShape)).toEqual([[1, 4, 6, 6], [1, 4, 6, 6], [1, 4], [1, 2]])
    expect(summary(mlp()).totalParams).toBe(784 * 256 + 256 + 256 * 10 + 10)
  })
})

describe("parameter names and initialisation", () => {
  it("names LeNet-5 parameters conv1/conv2/fc1/fc2/fc3 in PyTorch order", () => {
    expect(namedParameters(lenet5()).map((p) => `${p.name} ${p.shape.join("x")}`)).toEqual([
      "conv1.weight 6x1x5x5",
      "conv1.bias 6",
      "conv2.weight 16x6x5x5",
      "conv2.bias 16",
      "fc1.weight 120x400",
      "fc1.bias 120",
      "fc2.weight 84x120",
      "fc2.bias 84",
      "fc3.weight 10x84",
      "fc3.bias 10",
    ])
  })

  it("names unnamed Sequential children by index and nests with dots", () => {
    const net = new Sequential([new Sequential([new Conv2d(1, 2, 3)]), new ReLU(), new Linear(2, 2, { bias: false })])
    expect(namedParameters(net).map((p) => p.name)).toEqual(["0.0.weight", "0.0.bias", "2.weight"])
  })

  it("draws PyTorch-default bounds: weights and biases within 1/sqrt(fan_in), grouped conv fan_in = C_in/groups * k", () => {
    const net = new Sequential({ c: new Conv2d(4, 6, [3, 2], { groups: 2 }), f: new Linear(10, 3) })
    const params = initParameters(net, { seed: 5, dtype: "float64" })
    const bounds = { "c.weight": 1 / Math.sqrt(2 * 3 * 2), "c.bias": 1 / Math.sqrt(12), "f.weight": 1 / Math.sqrt(10), "f.bias": 1 / Math.sqrt(10) }
    for (const [name, b] of Object.entries(bounds)) {
      const v = Array.from(params.get(name)!.data)
      expect(Math.max(...v.map(Math.abs)), name).toBeLessThanOrEqual(b)
    }
    expect(uniformBound(namedParameters(net)[0].init, [6, 2, 3, 2])).toBeCloseTo(bounds["c.weight"], 14)
    const again = initParameters(net, { seed: 5, dtype: "float64" })
    for (const [k, t] of params) expect(Array.from(again.get(k)!.data)).toEqual(Array.from(t.data))
  })

  it("rejects duplicate or malformed names and bad layer arguments", () => {
    expect(() => new Sequential([["a", new ReLU()], ["a", new ReLU()]])).toThrow(/two layers are named 'a'/)
    expect(() => new Sequential({ "a.b": new ReLU() })).toThrow(GraphError)
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/divisible by groups/)
    expect(() => new Conv2d(3, 4, 0)).toThrow(AttrError)
    expect(() => new Conv2d(3, 4, 3, { padding: "same", stride: 2 })).toThrow(/padding 'same' needs stride 1/)
    expect(() => new MaxPool2d([2, 2, 2])).toThrow(/expected an integer >= 1 or an array of 2 such integers/)
    expect(() => new Linear(0, 3)).toThrow(AttrError)
    expect(() => buildModelGraph(new Linear(3, 2), { batchSize: 2 })).toThrow(/no inputShape/)
  })

  it("errors name the node when a layer gets the wrong input", () => {
    const net = new Sequential({ fc1: new Linear(5, 3) }, { inputShape: [4] })
    expect(() => buildModelGraph(net, { batchSize: 2 })).toThrow(ShapeError)
  })

  it("a module asking for an undeclared parameter gets a clear error", () => {
    const bad: Module = { type: "Bad", params: [], forward: (x, ctx: ForwardContext) => ctx.param("w") }
    expect(() => buildModelGraph(bad, { batchSize: 1, inputShape: [2] })).toThrow(/has no parameter 'w'/)
  })
})

describe("layers compute what their ops compute", () => {
  it("Conv1d, LeakyReLU, AvgPool2d, AdaptiveAvgPool2d and GlobalAvgPool2d give the expected shapes", () => {
    const c1 = buildModelGraph(new Sequential([new Conv1d(2, 3, 3, { padding: "same" }), new LeakyReLU(0.2)]), { batchSize: 2, inputShape: [2, 7] })
    expect(c1.output.shape).toEqual([2, 3, 7])
    const p = buildModelGraph(new Sequential([new AvgPool2d(2, { stride: 1, padding: 1 }), new AdaptiveAvgPool2d([2, 3]), new Flatten()]), {
      batchSize: 1,
      inputShape: [2, 5, 5],
    })
    expect(p.output.shape).toEqual([1, 12])
    expect(buildModelGraph(new GlobalAvgPool2d(), { batchSize: 2, inputShape: [3, 4, 4] }).output.shape).toEqual([2, 3])
  })

  it("GlobalAvgPool2d is the per-channel mean; LeakyReLU scales negatives", () => {
    const g = buildModelGraph(new Sequential([new GlobalAvgPool2d(), new LeakyReLU(0.5)]), { batchSize: 1, inputShape: [2, 2, 2], dtype: "float64" })
    const [y] = compile(g.builder.graph, [g.output]).run({ x: tensor([1, 2, 3, 4, -1, -2, -3, -6], [1, 2, 2, 2], "float64") })
    expect(Array.from(y.data)).toEqual([2.5, -1.5])
  })

  it("an inference graph never computes max pooling's argmax; a training graph's backward reads it", () => {
    const net = new Sequential({ pool: new MaxPool2d(2) }, { inputShape: [1, 4, 4] })
    const infer = buildModelGraph(net, { batchSize: 2, dtype: "float64" })
    const plan = compile(infer.builder.graph, [infer.output])
    const [y] = plan.run({ x: tensor(Array.from({ length: 32 }, (_, i) => i), [2, 1, 4, 4], "float64") })
    expect(Array.from(y.data)).toEqual([5, 7, 13, 15, 21, 23, 29, 31])
    // only y (8 float64) was allocated: no int32 indices buffer
    expect(plan.lastRunAllocatedBytes).toBe(8 * 8)
    const consumers = Object.values(infer.builder.graph.nodes).flatMap((n) => Object.values(n.inputs)).filter((r) => r.output === "indices")
    expect(consumers).toEqual([])
  })

  it("fromLayerSpecs builds the training.json architecture", () => {
    const net = fromLayerSpecs(
      [
        { name: "conv1", op: "conv2d", attrs: { in_channels: 1, out_channels: 4, kernel_size: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true } },
        { name: "pool1", op: "max_pool2d", attrs: { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false } },
        { name: "flatten", op: "flatten", attrs: { start_dim: 1, end_dim: -1 } },
        { name: "fc1", op: "linear", attrs: { in_features: 144, out_features: 10, bias: true } },
      ],
      [1, 12, 12],
    )
    expect(summary(net).rows.map((r) => r.outputShape)).toEqual([[1, 4, 12, 12], [1, 4, 6, 6], [1, 144], [1, 10]])
    expect(() => fromLayerSpecs([{ name: "x", op: "gelu" }])).toThrow(/expected conv2d, relu/)
  })
})
