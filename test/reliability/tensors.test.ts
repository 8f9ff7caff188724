// Class 3 of issue 18: tensors are what they say they are. Feeds and parameters whose typed
// array disagrees with their dtype or shape, null feeds and unknown dtype strings are
// FeedErrors naming the feed or parameter, in the executor and in the Trainer.
import { describe, expect, it } from "vitest"
import "../../src/ops/builtins.ts"
import { FeedError } from "../../src/errors.ts"
import { GraphBuilder } from "../../src/graph/builder.ts"
import { compile } from "../../src/exec/plan.ts"
import { linear } from "../../src/ops/linalg/index.ts"
import { crossEntropy } from "../../src/ops/loss/index.ts"
import { tensor, zeros, full, castTensor } from "../../src/tensor/tensor.ts"
import type { Tensor } from "../../src/tensor/tensor.ts"
import { allocate } from "../../src/tensor/dtype.ts"
import { initParameters } from "../../src/nn/module.ts"
import { mlp } from "../../src/nn/models.ts"
import { Trainer } from "../../src/nn/trainer.ts"
import { SGD } from "../../src/optim/sgd.ts"
import { errorOf } from "../helpers.ts"

const feedErrorOf = (f: () => unknown): FeedError => errorOf(FeedError, f)

const fake = (shape: number[], dtype: string, data: unknown): Tensor => ({ shape, dtype, data }) as unknown as Tensor

/** A float32 graph: logits = linear(x, w); loss = cross_entropy(logits, target). */
function lossPlan() {
  const g = new GraphBuilder()
  const x = g.input("x", [2, 3])
  const target = g.input("target", [2], "int32")
  const w = g.param("w", [4, 3])
  const loss = crossEntropy(linear(x, w), target)
  return compile(g.graph, [loss])
}

describe("feeds and parameters are checked against their dtype and shape", () => {
  const params = new Map([["w", zeros([4, 3])]])
  const x = zeros([2, 3])
  const target = tensor([1, 2], [2], "int32")

  it("an int32 feed backed by a Float32Array is rejected, naming the feed", () => {
    const e = feedErrorOf(() => lossPlan().run({ x, target: fake([2], "int32", new Float32Array([1.5, 0])) }, params))
    expect(e.message).toContain("feed 'target': dtype int32 is stored in an Int32Array but the data is Float32Array")
    expect(e.context.node).toBe("target")
  })
  it("a float32 parameter backed by a Float64Array is rejected, naming the parameter", () => {
    const e = feedErrorOf(() => lossPlan().run({ x, target }, new Map([["w", fake([4, 3], "float32", new Float64Array(12))]])))
    expect(e.message).toContain("parameter 'w': dtype float32 is stored in a Float32Array but the data is Float64Array")
  })
  it("a feed whose data is shorter than its shape is rejected", () => {
    expect(feedErrorOf(() => lossPlan().run({ x: fake([2, 3], "float32", new Float32Array(5)), target }, params)).message).toContain(
      "feed 'x': shape [2, 3] needs 6 elements but the data holds 5",
    )
  })
  it("null as a feed, as the feeds and as the parameter store", () => {
    expect(feedErrorOf(() => lossPlan().run({ x: null as unknown as Tensor, target }, params)).message).toContain("missing feed for input 'x' (got null)")
    expect(feedErrorOf(() => lossPlan().run(null as unknown as { [k: string]: Tensor }, params)).message).toContain("feeds is null")
    expect(feedErrorOf(() => lossPlan().run({ x, target }, null as unknown as Map<string, Tensor>)).message).toContain("parameter store is null")
  })
  it("a feed that is not an object", () => {
    expect(feedErrorOf(() => lossPlan().run({ x: 3 as unknown as Tensor, target }, params)).message).toContain("feed 'x' is a number")
  })
})

describe("the Trainer rejects mislabelled tensors before any update", () => {
  const setup = () => {
    const model = mlp({ inputShape: [4], hidden: [3], numClasses: 3 })
    const params = initParameters(model, { seed: 1 })
    const before = new Map([...params].map(([k, t]) => [k, Float32Array.from(t.data)]))
    const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.1 }) })
    return { trainer, params, before }
  }
  const unchanged = (params: Map<string, Tensor>, before: Map<string, Float32Array>) => {
    for (const [k, t] of params) expect(Float32Array.from(t.data)).toEqual(before.get(k))
  }

  it("int32 labels backed by a Float32Array([1.5, ...])", () => {
    const { trainer, params, before } = setup()
    const e = feedErrorOf(() => trainer.step(zeros([2, 4]), fake([2], "int32", new Float32Array([1.5, 0]))))
    expect(e.message).toContain("labels: dtype int32 is stored in an Int32Array but the data is Float32Array")
    unchanged(params, before)
  })
  it("a float32 input batch backed by a Float64Array", () => {
    const { trainer, params, before } = setup()
    expect(feedErrorOf(() => trainer.step(fake([2, 4], "float32", new Float64Array(8)), tensor([0, 1], [2], "int32"))).message).toContain("input batch: dtype float32")
    unchanged(params, before)
  })
  it("a parameter whose typed array does not match its dtype, named", () => {
    const { trainer, params } = setup()
    params.set("fc1.weight", fake([3, 4], "float32", new Float64Array(12)))
    expect(feedErrorOf(() => trainer.step(zeros([2, 4]), tensor([0, 1], [2], "int32"))).message).toContain("parameter 'fc1.weight': dtype float32")
  })
  it("undefined labels (found by test/fuzz/bad-tensors.test.ts)", () => {
    const { trainer } = setup()
    expect(feedErrorOf(() => trainer.step(zeros([2, 4]), undefined as unknown as Tensor)).message).toContain("labels: a tensor { shape, dtype, data } was expected but got undefined")
    expect(feedErrorOf(() => trainer.evaluate(zeros([2, 4]), undefined as unknown as Tensor)).message).toContain("labels:")
  })
  it("null as the input batch", () => {
    const { trainer } = setup()
    expect(feedErrorOf(() => trainer.step(null as unknown as Tensor, tensor([0, 1], [2], "int32"))).message).toContain("input batch: a tensor { shape, dtype, data } was expected but got null")
  })
})

describe("unknown dtype strings", () => {
  const bad = "float16" as "float32"
  it("tensor(), zeros(), full(), castTensor() and allocate() name the dtype", () => {
    for (const f of [() => tensor([1], [1], bad), () => zeros([1], bad), () => full([1], 2, bad), () => castTensor(zeros([1]), bad), () => allocate(bad, 1)]) {
      expect(feedErrorOf(f).message).toContain('unknown dtype "float16" (expected float32, float64 or int32)')
    }
  })
  it("tensor() with null values or a non-array shape", () => {
    expect(feedErrorOf(() => tensor(null as unknown as number[], [1])).message).toContain("tensor values are null")
    expect(() => tensor([1], null as unknown as number[])).toThrow(/shape null is not an array/)
  })
})
