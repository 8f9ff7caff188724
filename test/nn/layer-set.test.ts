import { describe, expect, it } from "vitest"
import { AttrError, ShapeError, Random, add, compile, gradValues, mul, relu, sum, tensor, type Value } from "../../src/index.ts"
import { AdaptiveAvgPool1d, AdaptiveAvgPool3d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d, AvgPool1d, AvgPool3d, BatchNorm1d, BatchNorm2d, BatchNorm3d, Block, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, ELU, Flatten, GELU, ForwardContext, Identity, LPPool1d, LPPool2d, Linear, LogSoftmax, MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool2d, Sequential, Sigmoid, Softmax, Softplus, Tanh, BasicBlock, buildModelGraph, initParameters, namedParameters, resnet8, summary } from "../../src/nn/index.ts"
import { Trainer } from "../../src/nn/trainer.ts"
import { SGD } from "../../src/optim/sgd.ts"

const rowsOf = (net: Sequential, inputShape: number[]) =>
  summary(net, inputShape).rows.map((r) => [r.name, r.type, r.outputShape.slice(1), r.params + r.buffers])

describe("summary rows of every layer", () => {
  // Output sizes by hand: conv floor((L + 2p - d(k-1) - 1)/s) + 1, transpose (L-1)s - 2p + d(k-1) + op + 1.
  it("1-d layers on [3, 16]", () => {
    const net = new Sequential({
      conv: new Conv1d(3, 4, 3, { stride: 2, padding: 1 }), // 8; 4*3*3 + 4 = 40
      bn: new BatchNorm1d(4), // 4 weight + 4 bias + 8 buffers
      up: new ConvTranspose1d(4, 2, 4, { stride: 2, padding: 1 }), // (8-1)*2 - 2 + 3 + 1 = 16; 4*2*4 + 2 = 34
      max: new MaxPool1d(2), // 8
      avg: new AvgPool1d(3, { stride: 1, padding: 1 }), // 8
      lp: new LPPool1d(2, 2), // 4
      amax: new AdaptiveMaxPool1d(3), // 3
      aavg: new AdaptiveAvgPool1d(1), // 1
      act: new Tanh(),
    })
    expect(rowsOf(net, [3, 16])).toEqual([
      ["conv", "Conv1d", [4, 8], 40],
      ["bn", "BatchNorm1d", [4, 8], 16],
      ["up", "ConvTranspose1d", [2, 16], 34],
      ["max", "MaxPool1d", [2, 8], 0],
      ["avg", "AvgPool1d", [2, 8], 0],
      ["lp", "LPPool1d", [2, 4], 0],
      ["amax", "AdaptiveMaxPool1d", [2, 3], 0],
      ["aavg", "AdaptiveAvgPool1d", [2, 1], 0],
      ["act", "Tanh", [2, 1], 0],
    ])
  })

  it("2-d and 3-d layers", () => {
    const two = new Sequential([new ConvTranspose2d(2, 4, 3, { stride: 2, output_padding: 1, groups: 2 }), new LPPool2d(2, 2), new AdaptiveMaxPool2d([3, null]), new BatchNorm2d(4)])
    // (5-1)*2 + 2 + 1 + 1 = 12 -> 6 -> [3, 6]; weight [2, 2, 3, 3] + bias 4
    expect(rowsOf(two, [2, 5, 5])).toEqual([
      ["0", "ConvTranspose2d", [4, 12, 12], 40],
      ["1", "LPPool2d", [4, 6, 6], 0],
      ["2", "AdaptiveMaxPool2d", [4, 3, 6], 0],
      ["3", "BatchNorm2d", [4, 3, 6], 16],
    ])
    const three = new Sequential([
      new Conv3d(1, 2, [1, 3, 3], { padding: [0, 1, 1] }), // 2*9 + 2 = 20
      new BatchNorm3d(2, { momentum: null }), // + num_batches_tracked
      new MaxPool3d([1, 2, 2]),
      new ConvTranspose3d(2, 2, 2, { stride: 2, bias: false }), // 2*2*8 = 32
      new AvgPool3d(2, { ceil_mode: true }),
      new AdaptiveMaxPool3d(1),
      new AdaptiveAvgPool3d([1, 1, 1]),
      new Flatten(),
      new Linear(2, 3),
      new LogSoftmax(1),
    ])
    expect(rowsOf(three, [1, 3, 6, 6])).toEqual([
      ["0", "Conv3d", [2, 3, 6, 6], 20],
      ["1", "BatchNorm3d", [2, 3, 6, 6], 9],
      ["2", "MaxPool3d", [2, 3, 3, 3], 0],
      ["3", "ConvTranspose3d", [2, 6, 6, 6], 32],
      ["4", "AvgPool3d", [2, 3, 3, 3], 0],
      ["5", "AdaptiveMaxPool3d", [2, 1, 1, 1], 0],
      ["6", "AdaptiveAvgPool3d", [2, 1, 1, 1], 0],
      ["7", "Flatten", [2], 0],
      ["8", "Linear", [3], 9],
      ["9", "LogSoftmax", [3], 0],
    ])
  })

  it("activation modules describe themselves as PyTorch prints them", () => {
    const acts = [new Tanh(), new Sigmoid(), new GELU({ approximate: "tanh" }), new ELU(0.5), new Softplus(2, 10), new Softmax(-1), new LogSoftmax(1), new Identity()]
    expect(acts.map((a) => a.describe())).toEqual([
      "Tanh()",
      "Sigmoid()",
      "GELU(approximate='tanh')",
      "ELU(alpha=0.5)",
      "Softplus(beta=2, threshold=10)",
      "Softmax(dim=-1)",
      "LogSoftmax(dim=1)",
      "Identity()",
    ])
    expect(new BatchNorm1d(3, { momentum: null }).describe()).toBe("BatchNorm1d(3, eps=0.00001, momentum=None)")
    expect(new ConvTranspose2d(4, 2, 3, { stride: 2, output_padding: 1 }).describe()).toBe("ConvTranspose2d(4, 2, kernel_size=[3, 3], stride=[2, 2], output_padding=[1, 1])")
  })
})

describe("layer errors", () => {
  it("names the layer, the shape and what was expected", () => {
    expect(() => buildModelGraph(new Sequential({ bn: new BatchNorm1d(3) }), { batchSize: 2, inputShape: [3, 4, 4] })).toThrow(/BatchNorm1d 'bn' got input \[2, 3, 4, 4\] \(expected 2-d or 3-d input\)/)
    expect(() => buildModelGraph(new Sequential([new BatchNorm3d(3)]), { batchSize: 2, inputShape: [3, 4, 4] })).toThrow(ShapeError)
    expect(() => buildModelGraph(new Sequential({ up: new MaxUnpool2d(2) }), { batchSize: 1, inputShape: [1, 2, 2] })).toThrow(/MaxUnpool2d needs the indices/)
    expect(() => new ConvTranspose1d(2, 2, 3, { stride: 2, output_padding: 2 })).toThrow(AttrError)
    expect(() => new BatchNorm2d(3, { momentum: 2 })).toThrow(/momentum = 2/)
    expect(() => new Softmax(0.5)).toThrow(/dim = 0.5/)
  })
})

/** A PyTorch-style module with two branches: the add needs a forward, not a Sequential. */
class TwoBranch extends Block {
  conv = new Conv2d(2, 2, 3, { padding: 1 })
  heads = [new Conv2d(2, 2, 1), new Conv2d(2, 2, 1, { bias: false })]
  forward(x: Value, ctx: ForwardContext): Value {
    const y = relu(ctx.call(this.conv, x))
    return add(ctx.call(this.heads[0], y), ctx.call(this.heads[1], x))
  }
}

describe("Block", () => {
  it("names children by field, lists as field.i, in assignment order (PyTorch's state_dict keys)", () => {
    expect(namedParameters(new TwoBranch()).map((p) => p.name)).toEqual(["conv.weight", "conv.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight"])
    expect(new TwoBranch().type).toBe("TwoBranch")
    const s = summary(new TwoBranch(), [2, 4, 4])
    expect(s.rows.map((r) => r.name)).toEqual(["conv", "heads.0", "heads.1"])
    expect(s.totalParams).toBe(38 + 6 + 4)
  })

  it("rejects calling a module that is not its child", () => {
    class Stray extends Block {
      conv = new Conv2d(1, 1, 1)
      forward(x: Value, ctx: ForwardContext): Value {
        return ctx.call(new Conv2d(1, 1, 1), x)
      }
    }
    expect(() => buildModelGraph(new Stray(), { batchSize: 1, inputShape: [1, 2, 2] })).toThrow(/has no child Conv2d \(expected one of its children: conv/)
  })

  it("differentiates through both branches (central finite differences, float64)", () => {
    const r = new Random(3)
    const block = new TwoBranch()
    const params = initParameters(block, { seed: 1, dtype: "float64" })
    const g = buildModelGraph(block, { batchSize: 2, inputShape: [2, 3, 3], dtype: "float64" })
    const u = g.builder.input("u", g.output.shape)
    const loss = sum(mul(g.output, u))
    const wrt = [g.input, g.params.get("conv.weight")!, g.params.get("heads.1.weight")!]
    const grads = gradValues(g.builder, loss, wrt)
    const plan = compile(g.builder.graph, [loss, ...grads])
    const random = (shape: readonly number[]) => tensor(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.uniform(-1, 1)), shape, "float64")
    const feeds = { x: random([2, 2, 3, 3]), u: random(g.output.shape) }
    const [, ...analytic] = plan.run(feeds, params)
    const lossAt = (): number => plan.run(feeds, params)[0].data[0]
    const targets = [feeds.x, params.get("conv.weight")!, params.get("heads.1.weight")!]
    targets.forEach((t, k) => {
      for (let i = 0; i < t.data.length; i += 3) {
        const keep = t.data[i]
        t.data[i] = keep + 1e-6
        const up = lossAt()
        t.data[i] = keep - 1e-6
        const down = lossAt()
        t.data[i] = keep
        expect(analytic[k].data[i]).toBeCloseTo((up - down) / 2e-6, 6)
      }
    })
  })
})

describe("ResNet-8", () => {
  it("has torchvision's parameter names and 19,810 trainable parameters", () => {
    const names = namedParameters(resnet8()).map((p) => p.name)
    expect(names.slice(0, 5)).toEqual(["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"])
    expect(names).toContain("layer2.0.downsample.0.weight")
    expect(names).toContain("layer3.0.downsample.1.running_var")
    expect(names.at(-1)).toBe("fc.bias")
    // by hand: stem 72 + 16; stage1 2*576 + 2*16; stage2 1152 + 2304 + 128 + 3*32;
    // stage3 4608 + 9216 + 512 + 3*64; fc 330
    expect(summary(resnet8()).trainableParams).toBe(72 + 16 + 1152 + 32 + 1152 + 2304 + 128 + 96 + 4608 + 9216 + 512 + 192 + 330)
  })

  it("learns: the loss on a fixed batch falls within a few SGD steps, and running stats move", () => {
    const model = resnet8({ width: 2, imageSize: 8 })
    const params = initParameters(model, { seed: 0 })
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }) })
    const r = new Random(5)
    const x = tensor(Array.from({ length: 8 * 64 }, () => r.uniform(0, 1)), [8, 1, 8, 8])
    const labels = tensor([0, 1, 2, 3, 0, 1, 2, 3], [8], "int32")
    const first = trainer.step(x, labels)
    let last = first
    for (let i = 0; i < 15; i++) last = trainer.step(x, labels)
    expect(last).toBeLessThan(first * 0.7)
    expect(Array.from(params.get("bn1.running_mean")!.data).some((v) => v !== 0)).toBe(true)
  })

  it("BasicBlock keeps the identity shortcut when shapes match and downsamples otherwise", () => {
    expect(new BasicBlock(4, 4).downsample).toBeUndefined()
    expect(new BasicBlock(4, 8, 2).children.map(([n]) => n)).toEqual(["conv1", "bn1", "conv2", "bn2", "downsample"])
  })
})

describe("BatchNorm momentum=None in training", () => {
  it("counts batches in num_batches_tracked and averages cumulatively", () => {
    // two batches of one channel: means 1 and 3 -> cumulative running mean 2 (with momentum 0.1 it would be 0.39)
    const model = new Sequential([new BatchNorm1d(1, { momentum: null, affine: false }), new Flatten(), new Linear(1, 2)], { inputShape: [1] })
    const params = initParameters(model, { seed: 0 })
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0 }) })
    trainer.step(tensor([0, 2], [2, 1]), tensor([0, 1], [2], "int32"))
    expect(params.get("0.num_batches_tracked")!.data[0]).toBe(1)
    expect(params.get("0.running_mean")!.data[0]).toBeCloseTo(1, 6)
    trainer.step(tensor([2, 4], [2, 1]), tensor([0, 1], [2], "int32"))
    expect(params.get("0.num_batches_tracked")!.data[0]).toBe(2)
    expect(params.get("0.running_mean")!.data[0]).toBeCloseTo(2, 6)
    // unbiased variances 2 and 2 -> cumulative 1 * 0 + ... : (1 + 2)/2 after the first (1 -> 2), then (2 + 2)/2
    expect(params.get("0.running_var")!.data[0]).toBeCloseTo(2, 6)
  })
})
