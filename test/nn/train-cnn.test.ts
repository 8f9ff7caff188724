import { describe, expect, it } from "vitest"
import { Random, tensor, type Tensor } from "../../src/index.ts"
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Trainer, initParameters, mlp } from "../../src/nn/index.ts"
import { SGD } from "../../src/optim/index.ts"

/**
 * 1x8x8 images of three separable kinds, with noise: a horizontal bar (class 0), a
 * vertical bar (class 1), or a 2x2 block (class 2), at random positions.
 */
function bars(n: number, seed: number): { x: Tensor; labels: Tensor } {
  const r = new Random(seed)
  const x = new Float32Array(n * 64)
  const labels = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = r.int(3)
    labels[i] = c
    const img = x.subarray(i * 64, (i + 1) * 64)
    for (let p = 0; p < 64; p++) img[p] = 0.1 * r.normal()
    const a = r.int(7)
    const b = r.int(7)
    for (let k = 0; k < 8; k++) {
      if (c === 0) img[a * 8 + k] += 1
      if (c === 1) img[k * 8 + a] += 1
    }
    if (c === 2) for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) img[(a + dy) * 8 + b + dx] += 2
  }
  return { x: tensor(x, [n, 1, 8, 8], "float32"), labels: tensor(labels, [n], "int32") }
}

const slice = (t: Tensor, from: number, to: number): Tensor => {
  const row = t.data.length / t.shape[0]
  return tensor(t.data.slice(from * row, to * row), [to - from, ...t.shape.slice(1)], t.dtype)
}

function smallCnn(): Sequential {
  return new Sequential(
    { conv1: new Conv2d(1, 6, 3, { padding: 1 }), relu1: new ReLU(), pool1: new MaxPool2d(2), flatten: new Flatten(), fc1: new Linear(6 * 4 * 4, 3) },
    { inputShape: [1, 8, 8] },
  )
}

function run(model: Sequential, seed: number, steps: number): { losses: number[]; params: Map<string, Tensor>; trainer: Trainer } {
  const params = initParameters(model, { seed })
  const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) })
  const { x, labels } = bars(96, 11)
  const losses: number[] = []
  // batches of 32 over 96 images: the loss of each step is on the next batch in turn
  for (let s = 0; s < steps; s++) {
    const b = s % 3
    losses.push(trainer.step(slice(x, b * 32, b * 32 + 32), slice(labels, b * 32, b * 32 + 32)))
  }
  return { losses, params, trainer }
}

describe("training a small CNN and an MLP on a separable problem", () => {
  it("CNN: the loss falls by more than 90%, and the test images are classified", () => {
    const { losses, trainer } = run(smallCnn(), 1, 60)
    // mean of the last epoch (3 batches) against the first
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(losses.slice(-3))).toBeLessThan(0.1 * mean(losses.slice(0, 3)))
    const test = bars(48, 99)
    // the last partial batch shape compiles its own plan
    const ev = trainer.evaluate(test.x, test.labels)
    expect(ev.correct / ev.count).toBeGreaterThan(0.9)
  })

  it("CNN: the same seed gives bit-identical parameters, another seed does not", () => {
    const a = run(smallCnn(), 4, 8)
    const b = run(smallCnn(), 4, 8)
    expect(b.losses).toEqual(a.losses)
    for (const [name, t] of a.params) expect(Array.from(b.params.get(name)!.data), name).toEqual(Array.from(t.data))
    const c = run(smallCnn(), 5, 8)
    expect(Array.from(c.params.get("conv1.weight")!.data)).not.toEqual(Array.from(a.params.get("conv1.weight")!.data))
  })

  it("MLP: the loss falls by more than 90%", () => {
    const { losses } = run(mlp({ inputShape: [1, 8, 8], hidden: [32], numClasses: 3 }), 2, 150)
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
    expect(mean(losses.slice(-3))).toBeLessThan(0.1 * mean(losses.slice(0, 3)))
  })
})
