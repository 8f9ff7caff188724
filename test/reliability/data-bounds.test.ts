// Class 2 of issue 18: the data pipeline checks its bounds instead of reading past typed
// arrays (NaN pixels, label 0) or dividing by a zero std (-Infinity).
import { describe, expect, it } from "vitest"
import { FeedError } from "../../src/errors.ts"
import { batches, epochOrder, makeBatch, normalizationTable, takeExamples, type ImageDataset } from "../../src/data/batches.ts"
import { errorOf } from "../helpers.ts"

function dataset(count: number, overrides: Partial<ImageDataset> = {}): ImageDataset {
  return { images: new Uint8Array(count * 4).fill(128), labels: new Uint8Array(count).fill(3), count, channels: 1, height: 2, width: 2, numClasses: 10, ...overrides }
}

const feedErrorOf = (f: () => unknown): FeedError => errorOf(FeedError, f)

describe("data pipeline bounds", () => {
  it("makeBatch rejects an index past the dataset", () => {
    expect(feedErrorOf(() => makeBatch(dataset(4), [0, 4], 0, 2)).message).toContain("order[1] is 4 (expected an integer index 0 <= index < 4")
  })
  it("makeBatch rejects negative and fractional indices", () => {
    expect(feedErrorOf(() => makeBatch(dataset(4), [-1], 0, 1)).message).toContain("order[0] is -1")
    expect(feedErrorOf(() => makeBatch(dataset(4), [1.5], 0, 1)).message).toContain("order[0] is 1.5")
  })
  it("makeBatch rejects a range past the order array", () => {
    expect(feedErrorOf(() => makeBatch(dataset(4), [0, 1], 1, 3)).message).toContain("batch range [1, 3) (expected integers 0 <= start <= end <= 2")
    expect(feedErrorOf(() => makeBatch(dataset(4), [0, 1], 2, 1)).message).toContain("batch range [2, 1)")
  })
  it("batches rejects an order array pointing past the data", () => {
    const order = Int32Array.from([0, 1, 2, 9])
    expect(feedErrorOf(() => [...batches(dataset(4), { batchSize: 2, order })]).message).toContain("order[3] is 9")
  })
  it("rejects an image buffer shorter than the dataset claims", () => {
    const ds = dataset(4, { images: new Uint8Array(15) })
    expect(feedErrorOf(() => [...batches(ds, { batchSize: 2 })]).message).toContain("images hold 15 bytes but 4 images of 1x2x2 need 16")
    expect(feedErrorOf(() => makeBatch(ds, [3], 0, 1)).message).toContain("need 16")
  })
  it("rejects a label buffer shorter than the dataset claims", () => {
    expect(feedErrorOf(() => [...batches(dataset(4, { labels: new Uint8Array(3) }), { batchSize: 2 })]).message).toContain("labels hold 3 entries for 4 images")
  })
  it("Normalize with std 0 (or a non-finite mean or std) is an error, not -Infinity", () => {
    expect(feedErrorOf(() => normalizationTable(0.5, 0)).message).toContain("Normalize std = 0")
    expect(feedErrorOf(() => normalizationTable(NaN, 1)).message).toContain("Normalize mean = NaN")
    expect(feedErrorOf(() => normalizationTable(0, Infinity)).message).toContain("Normalize std = Infinity")
  })
  it("rejects a table that does not map all 256 byte values", () => {
    expect(feedErrorOf(() => makeBatch(dataset(2), [0], 0, 1, "float32", new Float64Array(10))).message).toContain("has 10 entries (expected 256")
  })
  it("bad batch sizes, example counts and epochOrder arguments are FeedErrors", () => {
    feedErrorOf(() => [...batches(dataset(4), { batchSize: 0 })])
    feedErrorOf(() => [...batches(dataset(4), { batchSize: 2, order: Int32Array.from([0]) })])
    feedErrorOf(() => takeExamples(dataset(4), 0))
    feedErrorOf(() => takeExamples(dataset(4), 2.5))
    feedErrorOf(() => epochOrder(-1, 0, 0))
    feedErrorOf(() => epochOrder(4, NaN, 0))
  })
  it("in-range batches are unchanged: pixel 128 normalised by MNIST's mean and std", () => {
    const b = makeBatch(dataset(4), [3, 0], 0, 2)
    expect(b.x.data[0]).toBeCloseTo((128 / 255 - 0.1307) / 0.3081, 6)
    expect([...b.labels.data]).toEqual([3, 3])
  })
})
