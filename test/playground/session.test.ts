import { describe, expect, it } from "vitest"
import { FormatError, AttrError } from "../../src/errors.ts"
import { decodeCheckpoint, encodeCheckpoint, type JsonValue } from "../../src/io/checkpoint.ts"
import { TrainingSession, buildModel, parseConfig, DEFAULT_CONFIG, type TrainConfig } from "../../playground/src/session.ts"
import { summary } from "../../src/nn/summary.ts"
import { barDigits } from "./fixtures.ts"

const train = barDigits(200, 1)
const test = barDigits(50, 2)
const small: TrainConfig = { ...DEFAULT_CONFIG, model: "small-cnn", lr: 0.05, batchSize: 10 }

describe("playground session", () => {
  it("learns the bar digits: test accuracy rises from chance to at least 90%", () => {
    const s = new TrainingSession(small, train, test)
    const before = s.evaluate().accuracy
    const losses = s.trainSteps(60)
    const after = s.evaluate()
    expect(before).toBeLessThan(40)
    expect(after.accuracy).toBeGreaterThanOrEqual(90)
    expect(losses.at(-1)!).toBeLessThan(losses[0])
    // the confusion matrix counts every test image once, the diagonal the correct ones
    expect(after.confusion.reduce((a, b) => a + b, 0)).toBe(50)
    const diagonal = [...Array(10).keys()].reduce((a, c) => a + after.confusion[c * 11], 0)
    expect((100 * diagonal) / 50).toBe(after.accuracy)
  })

  it("walks epochs in full batches: 200 images, batch 30 -> 6 steps per epoch", () => {
    const s = new TrainingSession({ ...small, batchSize: 30 }, train, test)
    s.trainSteps(6)
    expect([s.step, s.epoch]).toEqual([6, 0])
    s.trainSteps(1)
    expect([s.step, s.epoch]).toEqual([7, 1])
  })

  it("a checkpoint restores the run: same accuracy now and the same losses after", () => {
    const a = new TrainingSession(small, train, test)
    a.trainSteps(15)
    const bytes = a.toCheckpoint()
    const { session: b } = TrainingSession.fromCheckpoint(bytes, train, test, "run.dgck")
    expect(b.step).toBe(15)
    expect(b.evaluate().accuracy).toBe(a.evaluate().accuracy)
    // momentum buffers and data position came back too: the continuations agree bit for bit
    expect(b.trainSteps(5)).toEqual(a.trainSteps(5))
  })

  it("rejects a checkpoint of another kind or model with a FormatError naming the file", () => {
    const foreign = encodeCheckpoint({ tensors: new Map(), meta: { kind: "something-else" } })
    expect(() => TrainingSession.fromCheckpoint(foreign, train, test, "x.dgck")).toThrow(FormatError)
    expect(() => TrainingSession.fromCheckpoint(foreign, train, test, "x.dgck")).toThrow(/x\.dgck.*dagrad-playground/)
    // LeNet-5's tensors in a file whose config claims the small CNN
    const lenet = decodeCheckpoint(new TrainingSession({ ...small, model: "lenet5" }, train, test).toCheckpoint())
    const meta = lenet.meta as { readonly [key: string]: JsonValue }
    const lying = encodeCheckpoint({ tensors: lenet.tensors, meta: { ...meta, config: { ...(meta.config as { [key: string]: JsonValue }), model: "small-cnn" } } })
    expect(() => TrainingSession.fromCheckpoint(lying, train, test, "lying.dgck")).toThrow(FormatError)
    expect(() => TrainingSession.fromCheckpoint(lying, train, test, "lying.dgck")).toThrow(/lying\.dgck.*conv1\.weight/)
  })

  it("classify gives 10 probabilities summing to 1 and rejects a wrong-sized image", () => {
    const s = new TrainingSession(small, train, test)
    const p = s.classify(new Float32Array(784).fill(0.5))
    expect(p.length).toBe(10)
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(() => s.classify(new Float32Array(100))).toThrow(/784/)
  })

  it("activations follow the model's layers; routing views render one SVG per max pool", () => {
    const s = new TrainingSession(small, train, test)
    const acts = s.activations(3)
    expect(acts.map((a) => a.name)).toEqual(["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1"])
    expect(acts[0].shape).toEqual([8, 28, 28])
    expect(acts.at(-1)!.shape).toEqual([10])
    const views = s.routing(3, "split")
    expect(views.map((v) => [v.layer, v.tie])).toEqual([["pool1", "split"], ["pool2", "split"]])
    expect(views[0].windows).toBe(8 * 14 * 14)
    expect(views[0].svg.startsWith("<svg")).toBe(true)
  })

  it("the small CNN has the documented 9,098 parameters; LeNet-5 61,706", () => {
    expect(summary(buildModel("small-cnn", "first")).totalParams).toBe(8 * 9 + 8 + 16 * 8 * 9 + 16 + 784 * 10 + 10)
    expect(summary(buildModel("small-cnn", "first")).totalParams).toBe(9098)
    expect(summary(buildModel("lenet5", "first")).totalParams).toBe(61706)
  })

  it("parseConfig names the bad field", () => {
    expect(() => parseConfig({ ...small, lr: "0.1" })).toThrow(AttrError)
    expect(() => parseConfig({ ...small, tie: "middle" })).toThrow(/tie = "middle".*first, last, split, all/)
    expect(() => parseConfig({ ...small, batchSize: 0 })).toThrow(/batchSize/)
  })
})
