import { describe, expect, it } from "vitest"
import { FeedError, Random, add, mul, reshape, sum, tensor, type Tensor, type Value } from "../../src/index.ts"
import { ForwardContext, buildModelGraph, initParameters, namedParameters, type Module } from "../../src/nn/module.ts"
import { Sequential } from "../../src/nn/sequential.ts"
import { BatchNorm2d, Dropout } from "../../src/nn/normalization.ts"
import { defaultBiasInit, defaultWeightInit } from "../../src/nn/init.ts"
import { Trainer, countCorrect, oneHot } from "../../src/nn/trainer.ts"
import { SGD } from "../../src/optim/sgd.ts"

/** A dense layer from elementwise ops only: y[n, c] = sum_d x[n, d] W[c, d] + b[c]. */
class Dense implements Module {
  readonly type = "Dense"
  readonly params
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    this.params = [
      { name: "weight", shape: [outFeatures, inFeatures], init: defaultWeightInit, trainable: true },
      { name: "bias", shape: [outFeatures], init: defaultBiasInit(inFeatures), trainable: true },
    ]
  }
  forward(x: Value, ctx: ForwardContext): Value {
    const n = x.shape[0]
    const xs = reshape(x, [n, 1, this.inFeatures])
    return add(sum(mul(xs, ctx.param("weight")), 2), ctx.param("bias"))
  }
}

/** Reshapes [N, D] to [N, D, 1, 1] so batch norm sees D channels, and back. */
class AsChannels implements Module {
  readonly type = "AsChannels"
  readonly params = []
  constructor(readonly inner: Module) {}
  get children() {
    return [["bn", this.inner] as const]
  }
  forward(x: Value, ctx: ForwardContext): Value {
    const y = this.inner.forward(reshape(x, [x.shape[0], x.shape[1], 1, 1]), ctx.child("bn", this.inner))
    return reshape(y, [x.shape[0], x.shape[1]])
  }
}

/** Two Gaussian blobs per class in 4-d, linearly separable. */
function blobs(n: number, seed: number): { x: Tensor; labels: Tensor } {
  const r = new Random(seed)
  const centers = [
    [2, 2, 0, 0],
    [-2, 2, 0, 0],
    [0, -2, 2, 0],
  ]
  const x = new Float64Array(n * 4)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = i % 3
    labels[i] = c
    for (let d = 0; d < 4; d++) x[i * 4 + d] = centers[c][d] + 0.3 * r.normal()
  }
  return { x: tensor(x, [n, 4], "float64"), labels: tensor(labels, [n], "int32") }
}

const slice = (t: Tensor, from: number, to: number): Tensor => {
  const row = t.data.length / t.shape[0]
  return tensor(t.data.slice(from * row, to * row), [to - from, ...t.shape.slice(1)], t.dtype)
}

function train(seed: number, epochs: number, withExtras: boolean): { trainer: Trainer; losses: number[]; params: Map<string, Tensor> } {
  const model = new Sequential(
    withExtras
      ? { fc1: new Dense(4, 8), bn: new AsChannels(new BatchNorm2d(8)), drop: new Dropout(0.2), fc2: new Dense(8, 3) }
      : { fc1: new Dense(4, 3) },
    { inputShape: [4] },
  )
  const params = initParameters(model, { seed, dtype: "float64" })
  const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.1, momentum: 0.9 }), dtype: "float64", seed })
  const { x, labels } = blobs(60, 5)
  const losses: number[] = []
  for (let e = 0; e < epochs; e++) {
    // batches of 16: the last one has 12 samples (a second cached plan)
    for (let i = 0; i < 60; i += 16) {
      const j = Math.min(60, i + 16)
      losses.push(trainer.step(slice(x, i, j), slice(labels, i, j)))
    }
  }
  return { trainer, losses, params }
}

describe("Trainer", () => {
  it("learns a separable problem: the loss falls by more than 90%", () => {
    const { trainer, losses } = train(1, 25, false)
    const first = losses.slice(0, 4).reduce((a, b) => a + b) / 4
    const last = losses.slice(-4).reduce((a, b) => a + b) / 4
    expect(last).toBeLessThan(0.1 * first)
    const { x, labels } = blobs(60, 5)
    const ev = trainer.evaluate(x, labels)
    expect(ev.correct).toBe(60)
    expect(ev.count).toBe(60)
    expect(countCorrect(trainer.predict(x), labels)).toBe(60)
  })

  it("is reproducible bit for bit from the seed, with dropout and batch norm", () => {
    const a = train(7, 3, true)
    const b = train(7, 3, true)
    expect(a.losses).toEqual(b.losses)
    for (const [name, t] of a.params) expect(Array.from(b.params.get(name)!.data)).toEqual(Array.from(t.data))
    const c = train(8, 3, true)
    expect(c.losses).not.toEqual(a.losses)
  })

  it("writes batch norm running statistics back to the store and leaves them alone in evaluate", () => {
    const { trainer, params } = train(3, 1, true)
    const rm = Array.from(params.get("bn.bn.running_mean")!.data)
    const rv = Array.from(params.get("bn.bn.running_var")!.data)
    expect(rm.some((v) => v !== 0)).toBe(true)
    expect(rv.some((v) => v !== 1)).toBe(true)
    const { x, labels } = blobs(60, 5)
    trainer.evaluate(x, labels)
    trainer.predict(x)
    expect(Array.from(params.get("bn.bn.running_mean")!.data)).toEqual(rm)
    expect(namedParameters(trainer.model).filter((p) => !p.trainable).map((p) => p.name)).toEqual(["bn.bn.running_mean", "bn.bn.running_var"])
  })

  it("gives inference graphs no dropout and no seed inputs; training graphs one seed per dropout layer", () => {
    const model = new Sequential([new Dense(4, 4), new Dropout(0.5), new Dense(4, 2), new Dropout(0.1)], { inputShape: [4] })
    const infer = buildModelGraph(model, { batchSize: 2 })
    expect(infer.seedInputs.size).toBe(0)
    expect(Object.values(infer.builder.graph.nodes).some((n) => n.op === "dropout")).toBe(false)
    const trainG = buildModelGraph(model, { batchSize: 2, training: true })
    expect([...trainG.seedInputs.keys()]).toEqual(["1.seed", "3.seed"])
    expect([...trainG.trainable.keys()]).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"])
  })

  it("trains with mse on int labels (one-hot) and exposes logits when asked", () => {
    const model = new Sequential({ fc: new Dense(4, 3) }, { inputShape: [4] })
    const params = initParameters(model, { seed: 2, dtype: "float64" })
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.2 }), loss: "mse", dtype: "float64", fetchLogits: true })
    const { x, labels } = blobs(30, 9)
    const l0 = trainer.step(x, labels)
    expect(trainer.lastLogits!.shape).toEqual([30, 3])
    // mse(logits, one_hot) recomputed by hand from the fetched logits
    const t = oneHot(labels, 3, "float64")
    let s = 0
    for (let i = 0; i < 90; i++) s += (trainer.lastLogits!.data[i] - t.data[i]) ** 2
    expect(l0).toBeCloseTo(s / 90, 14)
    let l = l0
    for (let i = 0; i < 30; i++) l = trainer.step(x, labels)
    expect(l).toBeLessThan(0.5 * l0)
    // float targets are accepted as they are
    expect(trainer.step(x, t)).toBeCloseTo(trainer.evaluate(x, t).loss, 2)
  })

  it("reports bad batches clearly", () => {
    const model = new Sequential({ fc: new Dense(4, 3) }, { inputShape: [4] })
    const params = initParameters(model, { dtype: "float64" })
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.1 }), dtype: "float64" })
    const { x, labels } = blobs(6, 1)
    expect(() => trainer.step(tensor(new Float64Array(15), [5, 3], "float64"), labels)).toThrow(/expected \[N, 4\]/)
    expect(() => trainer.step(x, slice(labels, 0, 5))).toThrow(FeedError)
    expect(() => trainer.step(x, tensor([0, 1, 2, 3, 0, 1], [6], "int32"))).toThrow(/label 3 at position 3 is out of range/)
    expect(() => trainer.step(x, tensor(new Float64Array(6), [6], "float64"))).toThrow(/int32 class indices/)
  })
})
