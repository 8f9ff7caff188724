// Routing maps on hand-built inputs: win counts, gradient mass per tie policy, provenance,
// tie statistics; the ASCII and SVG renderings; and that the inspector is browser-safe.
import { build } from "esbuild"
import { describe, expect, it } from "vitest"
import { GraphBuilder, maxPool1d, maxPool2d, relu, adaptiveMaxPool2d, tensor, type TiePolicy } from "../../src/index.ts"
import { asciiHeatmap, heatmapOf, heatmapSvg, inspectRouting, maxPoolNodes, provenanceOf, routingFromIndices, routingSummary } from "../../src/research/index.ts"

// 4x4 plane, 2x2 windows with stride 1 (3x3 windows, overlapping):
//   9 1 2 3      windows (r, c) of the 3x3 output: (0,0) -> 9; (0,1) = {1,2,1,2} tied 2s;
//   1 1 2 3      (0,2) = {2,3,2,3} tied 3s; (1,2) -> the 3 at (1,3); the 8 wins the four
//   4 8 1 0      windows around it; (2,2) -> 7
//   5 6 7 0
const X = [9, 1, 2, 3, 1, 1, 2, 3, 4, 8, 1, 0, 5, 6, 7, 0]

function routed(tie: TiePolicy, values = X) {
  const b = new GraphBuilder({ dtype: "float64" })
  const x = b.input("x", [1, 1, 4, 4])
  maxPool2d(relu(x), { kernel_size: 2, stride: 1, tie })
  return inspectRouting(b.graph, { x: tensor(values, [1, 1, 4, 4], "float64") })
}

describe("inspectRouting", () => {
  it("win counts and provenance of an overlapping 2x2/stride-1 max pool", () => {
    const [m] = routed("first")
    expect(m.op).toBe("max_pool2d")
    expect([...m.winCounts.data]).toEqual([1, 0, 1, 1, 0, 0, 0, 1, 0, 4, 0, 0, 0, 0, 1, 0])
    expect(m.outputShape).toEqual([1, 1, 3, 3])
    expect(provenanceOf(m, [0, 0, 0, 0])).toEqual([0, 0, 0, 0]) // the 9
    expect(provenanceOf(m, [0, 0, 1, 1])).toEqual([0, 0, 2, 1]) // the 8
    expect(provenanceOf(m, [0, 0, 0, 2])).toEqual([0, 0, 0, 3]) // top-right window {2, 3, 2, 3}: first 3 at (0, 3)
    expect(m.windows).toBe(9)
    expect(m.tiedWindows).toBe(2) // (0,1) and (0,2)
    expect(routingSummary(m)).toMatchObject({ maxWins: 4, neverChosen: 10, elements: 16 })
  })

  it("gradient mass follows the tie policy: first / last pick one tied element, split halves, all doubles", () => {
    const mass = (tie: TiePolicy) => [...routed(tie)[0].mass!.data]
    // window (0, 2) = {x[0,2]=2, x[0,3]=3, x[1,2]=2, x[1,3]=3}: tied 3s at flat 3 and 7
    // window (1, 2) = {2, 3, 1, 0}: unique 3 at flat 7
    expect(mass("first")[3]).toBe(1)
    expect(mass("first")[7]).toBe(1)
    expect(mass("last")[3]).toBe(0)
    expect(mass("last")[7]).toBe(2)
    expect(mass("split")[3]).toBe(0.5)
    expect(mass("split")[7]).toBe(1.5)
    expect(mass("all")[3]).toBe(1)
    expect(mass("all")[7]).toBe(2)
    // win counts come from the saved indices: "last" moves the tied win to flat 7
    expect(routed("last")[0].winCounts.data[7]).toBe(2)
  })

  it("an all-zero plane (ReLU of negatives) ties every window", () => {
    const [m] = routed("first", new Array<number>(16).fill(-1))
    expect(m.tiedWindows).toBe(9)
    expect([...m.winCounts.data].filter((c) => c > 0)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1])
  })

  it("finds every max-pool node (adaptive included) and rejects unknown node ids", () => {
    const b = new GraphBuilder({ dtype: "float32" })
    const x = b.input("x", [2, 3, 6, 6])
    adaptiveMaxPool2d(maxPool2d(x, { kernel_size: 2 }), [1, 1])
    expect(maxPoolNodes(b.graph).map((n) => n.op)).toEqual(["max_pool2d", "adaptive_max_pool2d"])
    const maps = inspectRouting(b.graph, { x: tensor(Array.from({ length: 216 }, (_, i) => (i * 37) % 101), [2, 3, 6, 6], "float32") })
    expect(maps.map((m) => Array.from(m.winCounts.data).reduce((a, c) => a + c, 0))).toEqual([2 * 3 * 9, 2 * 3])
    expect(() => inspectRouting(b.graph, {}, new Map(), { nodes: ["nope"] })).toThrow(/no max-pool node nope/)
  })
})

describe("routingFromIndices", () => {
  it("counts wins from saved indices, skipping -1, and checks shapes", () => {
    const m = routingFromIndices(tensor([1, 1, -1, 3], [1, 1, 4], "int32"), [1, 1, 5])
    expect([...m.winCounts.data]).toEqual([0, 2, 0, 1, 0])
    expect(provenanceOf(m, [0, 0, 2])).toBeUndefined()
    expect(() => routingFromIndices(tensor([9], [1, 1, 1], "int32"), [1, 1, 5])).toThrow(/outside the input plane/)
    expect(() => routingFromIndices(tensor([0, 0], [2, 1, 1], "int32"), [1, 1, 5])).toThrow(/do not match/)
  })

  it("agrees with the indices a max_pool1d returns", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    maxPool1d(b.input("x", [1, 1, 6]), { kernel_size: 3, stride: 1, padding: 1 })
    const [m] = inspectRouting(b.graph, { x: tensor([0, 5, 1, 1, 4, 2], [1, 1, 6], "float64") })
    // windows {0,1}, {0,1,2}, {1,2,3}, {2,3,4}, {3,4,5}, {4,5}: 5 wins three, 4 wins three
    expect([...m.winCounts.data]).toEqual([0, 3, 0, 0, 3, 0])
  })
})

describe("heatmaps", () => {
  const h = heatmapOf(routed("first")[0].winCounts, [0, 0])

  it("ASCII: shades, numbers and a legend", () => {
    const art = asciiHeatmap(h)
    expect(art.split("\n")).toHaveLength(5)
    expect(art.split("\n")[2]).toBe("  @@    ") // row 2: 0 4 0 0
    expect(art).toContain("'@' = 4")
    expect(asciiHeatmap(h, { numbers: true }).split("\n")[0]).toBe("1 0 1 1")
  })

  it("SVG: one cell per element with its value in a tooltip, a title, a legend", () => {
    const svg = heatmapSvg(h, { title: "wins <pool1>" })
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.match(/class="cell"/g)).toHaveLength(16)
    expect(svg).toContain("row 2, col 1: 4")
    expect(svg).toContain("wins &lt;pool1&gt;")
  })

  it("heatmapOf sums the depth of a 3-d map and reads one row of a 1-d map", () => {
    const t = tensor([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 2, 2, 2], "float64")
    expect([...heatmapOf(t, [0, 0]).values]).toEqual([6, 8, 10, 12])
    expect(heatmapOf(tensor([1, 2, 3], [1, 1, 3], "float64"), [0, 0])).toMatchObject({ width: 3, height: 1 })
  })
})

describe("browser-safe", () => {
  it("src/inspect bundles for the browser platform", async () => {
    const r = await build({ entryPoints: ["src/inspect/index.ts"], bundle: true, platform: "browser", format: "esm", write: false, logLevel: "silent" })
    expect(r.errors).toEqual([])
  })
})
