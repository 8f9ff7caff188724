import { describe, expect, it } from "vitest"
import { batchCount, batches, epochOrder, normalizationTable, takeExamples, type ImageDataset } from "../../src/data/batches.ts"

function tinyDataset(count: number): ImageDataset {
  const images = new Uint8Array(count * 4)
  for (let i = 0; i < count; i++) images.fill(i, i * 4, i * 4 + 4)
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count, channels: 1, height: 2, width: 2, numClasses: 10 }
}

describe("batching", () => {
  it("normalises like torchvision ToTensor + Normalize((0.1307,), (0.3081,))", () => {
    const t = normalizationTable()
    expect(t[0]).toBeCloseTo(-0.4242, 4)
    expect(t[255]).toBeCloseTo(2.8215, 4)
  })

  it("shuffles by seed and epoch only: deterministic, a permutation, different per epoch", () => {
    const a = epochOrder(100, 7, 0)
    expect(epochOrder(100, 7, 0)).toEqual(a)
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(epochOrder(100, 7, 1)).not.toEqual(a)
    expect(epochOrder(100, 8, 0)).not.toEqual(a)
  })

  it("yields NCHW float batches with int32 labels, the last one partial", () => {
    const ds = tinyDataset(10)
    const order = Int32Array.from([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    const all = [...batches(ds, { batchSize: 4, order })]
    expect(all.map((b) => b.x.shape)).toEqual([[4, 1, 2, 2], [4, 1, 2, 2], [2, 1, 2, 2]])
    expect(all[0].x.dtype).toBe("float32")
    expect(all[0].labels.dtype).toBe("int32")
    expect(Array.from(all[0].labels.data)).toEqual([9, 8, 7, 6])
    expect(all[0].x.data[0]).toBeCloseTo((9 / 255 - 0.1307) / 0.3081, 6)
    expect(Array.from(all[2].indices)).toEqual([1, 0])
    expect([...batches(ds, { batchSize: 4, dropLast: true })].length).toBe(2)
    expect(batchCount(10, 4)).toBe(3)
    expect(batchCount(10, 4, true)).toBe(2)
    expect([...batches(ds, { batchSize: 5, dtype: "float64" })][0].x.data).toBeInstanceOf(Float64Array)
  })

  it("limits the number of examples without copying", () => {
    const ds = tinyDataset(10)
    const small = takeExamples(ds, 3)
    expect(small.count).toBe(3)
    expect(small.images.length).toBe(12)
    expect(small.images.buffer).toBe(ds.images.buffer)
    expect(takeExamples(ds, 50)).toBe(ds)
    expect(() => takeExamples(ds, 0)).toThrow("positive integer")
  })
})
