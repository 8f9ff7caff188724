import { describe, expect, it } from "vitest"
import { escapeXml, formatTick, lineChartSvg, niceTicks } from "../../src/node/plot.ts"

describe("niceTicks", () => {
  it("covers the range with 1/2/5 steps", () => {
    expect(niceTicks(0, 0.93)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(niceTicks(0, 3)).toEqual([0, 1, 2, 3])
    expect(niceTicks(97.2, 99.1)).toEqual([97, 97.5, 98, 98.5, 99, 99.5])
    expect(niceTicks(0.3, 0.3)).toEqual([0.26, 0.28, 0.3, 0.32, 0.34])
    expect(niceTicks(0, 0)).toEqual([-1, -0.5, 0, 0.5, 1])
  })

  it("prints labels with the decimals the step needs", () => {
    expect(formatTick(0.30000000000000004, 0.1)).toBe("0.3")
    expect(formatTick(98.5, 0.5)).toBe("98.5")
    expect(formatTick(2, 1)).toBe("2")
    expect(formatTick(200, 50)).toBe("200")
  })
})

describe("lineChartSvg", () => {
  const svg = lineChartSvg({
    title: "LeNet <5> & MNIST",
    xLabel: "epoch",
    leftLabel: "loss",
    rightLabel: "accuracy (%)",
    series: [
      { name: "train loss", points: [[0.5, 0.6], [1, 0.2], [1.5, 0.1], [2, Number.NaN]] },
      { name: "test accuracy", points: [[1, 97.5], [2, 98.9]], axis: "right", markers: true },
    ],
  })

  it("is a well-formed standalone SVG document", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trim().endsWith("</svg>")).toBe(true)
    expect(svg).not.toContain("NaN")
    // Every element is closed: self-closing or with a matching end tag.
    const opens = svg.match(/<(\w+)[^>]*[^/]>/g)!.map((t) => t.match(/<(\w+)/)![1])
    const closes = svg.match(/<\/(\w+)>/g)!.map((t) => t.slice(2, -1))
    expect(opens.sort()).toEqual(closes.sort())
  })

  it("escapes text, draws both axes with ticks, a legend and one path per series", () => {
    expect(svg).toContain("LeNet &lt;5&gt; &amp; MNIST")
    expect(svg).toContain('class="axis left"')
    expect(svg).toContain('class="axis right"')
    expect(svg.match(/class="tick right"/g)!.length).toBeGreaterThanOrEqual(2)
    expect(svg).toContain(">98.5</text>")
    expect(svg.match(/class="legend"/g)!.length).toBe(2)
    expect(svg).toContain("test accuracy (right axis)")
    const paths = [...svg.matchAll(/<path class="series" data-name="([^"]+)" d="([^"]+)"/g)]
    expect(paths.map((p) => p[1])).toEqual(["train loss", "test accuracy"])
    // NaN points are skipped: 3 of the 4 loss points are drawn.
    expect(paths[0][2].split(" ").length).toBe(3)
    expect(svg.match(/<circle/g)!.length).toBe(2)
  })

  it("maps the highest value to the top of the plot and the lowest tick to the bottom", () => {
    const s = lineChartSvg({ series: [{ name: "a", points: [[0, 0], [1, 1]] }], width: 200, height: 200 })
    const d = s.match(/d="([^"]+)"/)![1]
    const [[x0, y0], [x1, y1]] = d.split(" ").map((p) => p.slice(1).split(",").map(Number))
    expect(x1).toBeGreaterThan(x0)
    expect(y1).toBeLessThan(y0)
    expect(escapeXml(`a"b'`)).toBe("a&quot;b&apos;")
  })
})
