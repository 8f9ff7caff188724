import { describe, expect, it } from "vitest"
import { confusionTableHtml, heatmapRgba, layerHeatmap, lineChartSvg, plainNumber, probabilityBarsHtml, thin } from "../../playground/src/render.ts"
import { toMnistDigit } from "../../playground/src/draw.ts"
import { argmax, confusionMatrix, softmax } from "../../playground/src/metrics.ts"
import { loadMnist } from "../../playground/src/data.ts"
import { encodeIdxUint8 } from "../../src/io/idx.ts"
import { FormatError } from "../../src/errors.ts"

describe("charts", () => {
  it("thin averages equal runs and keeps short series", () => {
    expect(thin([[1, 1], [2, 3], [3, 5], [4, 7]], 2)).toEqual([[1.5, 2], [3.5, 6]])
    expect(thin([[1, 1]], 2)).toEqual([[1, 1]])
    expect(thin(Array.from({ length: 1000 }, (_, i) => [i, i] as const), 400)).toHaveLength(400)
  })

  it("lineChartSvg maps the data range onto the plot box", () => {
    const svg = lineChartSvg([{ label: "loss", color: "#c00", points: [[0, 2], [10, 0]] }], { width: 144, height: 130 })
    // plot box: x 44..134, y 8..108; (0, 2) is the top left, (10, 0) the bottom right
    expect(svg).toContain('points="44.0,8.0 134.0,108.0"')
    expect(svg).toContain(">step 10<")
    const fixed = lineChartSvg([{ label: "acc", color: "#0a0", points: [[0, 50], [1, 100]] }], { width: 144, height: 130, yMin: 0, yMax: 100 })
    expect(fixed).toContain('points="44.0,58.0 134.0,8.0"')
  })

  it("lineChartSvg draws only the frame for empty or non-finite series", () => {
    const svg = lineChartSvg([{ label: "loss", color: "#c00", points: [[1, NaN]] }])
    expect(svg).not.toContain("<polyline")
    expect(svg).toContain("loss")
  })
})

describe("pixels and tables", () => {
  it("heatmapRgba: grey from min to max, transparent NaN gaps, diverging blue-white-red", () => {
    const rgba = heatmapRgba({ width: 3, height: 1, values: Float64Array.from([0, 5, NaN]) })
    expect([...rgba]).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0])
    const div = heatmapRgba({ width: 3, height: 1, values: Float64Array.from([-2, 0, 2]) }, { diverging: true })
    expect([...div]).toEqual([0, 0, 255, 255, 255, 255, 255, 255, 255, 0, 0, 255])
  })

  it("layerHeatmap tiles channels with one-cell gaps and lays vectors out as a row", () => {
    const h = layerHeatmap([3, 1, 2], Float32Array.from([1, 2, 3, 4, 5, 6]), 2)
    expect([h.width, h.height]).toEqual([5, 3])
    expect([...h.values]).toEqual([1, 2, NaN, 3, 4, NaN, NaN, NaN, NaN, NaN, 5, 6, NaN, NaN, NaN])
    expect(layerHeatmap([4], Float32Array.from([1, 2, 3, 4]))).toMatchObject({ width: 4, height: 1 })
    expect(() => layerHeatmap([2, 2], new Float32Array(4))).toThrow(/\[C, H, W\]/)
  })

  it("confusion matrix counts, table and probability bars", () => {
    const m = confusionMatrix([0, 1, 1, 2], [0, 1, 0, 2], 3)
    expect([...m]).toEqual([1, 1, 0, 0, 1, 0, 0, 0, 1])
    const html = confusionTableHtml(m, 3)
    expect(html.match(/<td/g)).toHaveLength(9)
    expect(html).toContain("rgba(210,50,50") // the one error is red
    const bars = probabilityBarsHtml([0.1, 0.7, 0.2])
    expect(bars.match(/class="bar best"/g)).toHaveLength(1)
    expect(bars).toContain("70.0%")
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(/1 predictions for 2 labels/)
  })

  it("softmax, argmax, plainNumber", () => {
    expect([...softmax([0, Math.log(3)])].map((p) => p.toFixed(12))).toEqual(["0.250000000000", "0.750000000000"])
    expect([...softmax([1000, 1000])]).toEqual([0.5, 0.5])
    expect(argmax([1, 3, 3, 0])).toBe(1)
    expect(plainNumber(91.23456, 2)).toBe("91.23")
    expect(plainNumber(NaN, 2)).toBe("")
  })
})

describe("drawing to an MNIST digit", () => {
  it("an empty drawing is all zeros", () => {
    expect(toMnistDigit(new Float32Array(100), 10).every((v) => v === 0)).toBe(true)
  })

  it("a small square in a corner becomes a 20x20 block centred in the frame", () => {
    const size = 100
    const ink = new Float32Array(size * size)
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) ink[y * size + x] = 1
    const d = toMnistDigit(ink, size)
    // scaled to 20x20 by area averaging (all ones), centre of mass (10, 10) moved to (14, 14): rows/cols 4..23
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) expect(d[y * 28 + x]).toBe(y >= 4 && y < 24 && x >= 4 && x < 24 ? 1 : 0)
    }
  })

  it("a tall stroke keeps its aspect: 20 rows high, 4 wide", () => {
    const size = 200
    const ink = new Float32Array(size * size)
    for (let y = 50; y < 150; y++) for (let x = 90; x < 110; x++) ink[y * size + x] = 1
    const d = toMnistDigit(ink, size)
    const rows = new Set<number>()
    const cols = new Set<number>()
    d.forEach((v, i) => {
      if (v > 0) {
        rows.add(Math.floor(i / 28))
        cols.add(i % 28)
      }
    })
    expect([rows.size, cols.size]).toEqual([20, 4])
    expect(Math.min(...cols)).toBe(12)
  })

  it("rejects an ink map of the wrong size", () => {
    expect(() => toMnistDigit(new Float32Array(10), 4)).toThrow(/10 values for a 4 x 4/)
  })
})

describe("loading the MNIST subset", () => {
  const files = (n: number, labelsCount = n): { [name: string]: Uint8Array } => ({
    "manifest.json": new TextEncoder().encode(JSON.stringify({ trainCount: n, testCount: n, files: { a: 1, b: 1 } })),
    "train-images-idx3-ubyte": encodeIdxUint8(new Uint8Array(n * 784).fill(7), [n, 28, 28]),
    "train-labels-idx1-ubyte": encodeIdxUint8(new Uint8Array(labelsCount).fill(3), [labelsCount]),
    "t10k-images-idx3-ubyte": encodeIdxUint8(new Uint8Array(n * 784), [n, 28, 28]),
    "t10k-labels-idx1-ubyte": encodeIdxUint8(new Uint8Array(n), [n]),
  })
  const fetcher = (f: { [name: string]: Uint8Array }) => async (url: string, onBytes: (n: number) => void) => {
    const bytes = f[url.replace("base/", "")]
    onBytes(bytes.length)
    return bytes
  }

  it("parses the four files and reports the bytes as they arrive", async () => {
    const progress: [number, number][] = []
    const { train, test } = await loadMnist("base/", (l, t) => progress.push([l, t]), fetcher(files(3)))
    expect([train.count, test.count, train.images[0], train.labels[2]]).toEqual([3, 3, 7, 3])
    expect(progress[0]).toEqual([0, 2])
    expect(progress).toHaveLength(5)
    expect(progress.at(-1)![0]).toBe(3 * 784 * 2 + 16 * 2 + 3 * 2 + 8 * 2)
  })

  it("a labels file that disagrees with the manifest is a FormatError naming the file", async () => {
    await expect(loadMnist("base/", () => {}, fetcher(files(3, 2)))).rejects.toThrow(FormatError)
    await expect(loadMnist("base/", () => {}, fetcher(files(3, 2)))).rejects.toThrow(/train-labels-idx1-ubyte/)
  })
})
