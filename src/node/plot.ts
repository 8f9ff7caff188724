/**
 * A small SVG line-chart writer for training curves: axes with "nice" ticks, a left and
 * an optional right y axis (loss and accuracy have different scales), a legend, and any
 * number of series. The output is a standalone SVG a browser or image viewer opens.
 * (Pure string building; it lives in node/ only because nothing else needs it.)
 */

/** One line of the chart. */
export interface Series {
  readonly name: string
  readonly points: readonly (readonly [x: number, y: number])[]
  /** Which y axis the series is scaled against. Default `left`. */
  readonly axis?: "left" | "right"
  /** CSS color; default from a colour-blind-safe palette. */
  readonly color?: string
  /** Draw a dot at every point (useful for per-epoch values). */
  readonly markers?: boolean
}

/** Options of {@link lineChartSvg}: the series to draw, titles and axis labels, and the size in pixels. */
export interface ChartOptions {
  readonly series: readonly Series[]
  readonly title?: string
  readonly xLabel?: string
  readonly leftLabel?: string
  readonly rightLabel?: string
  readonly width?: number
  readonly height?: number
}

const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"]

/**
 * Up to about `target` round tick values (1, 2 or 5 times a power of ten apart) covering
 * [min, max]. A degenerate range is widened around its value.
 *
 * @example
 * niceTicks(0, 0.93) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1]
  if (min > max) [min, max] = [max, min]
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1
    min -= pad
    max += pad
  }
  const raw = (max - min) / Math.max(1, target)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude
  const first = Math.floor(min / step + 1e-9)
  const last = Math.max(first + 1, Math.ceil(max / step - 1e-9))
  const ticks: number[] = []
  // Integer multiples of step, rounded to 12 digits so 3 * 0.1 prints as 0.3.
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)))
  return ticks
}

/** Formats a tick label with no more decimals than the tick step needs. */
export function formatTick(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(Math.abs(step)) + 1e-9)))
  return v.toFixed(decimals)
}

/** Escapes text for use in SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")
}

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString()

/**
 * Renders a line chart as an SVG document.
 *
 * @example
 * const svg = lineChartSvg({
 *   title: "LeNet-5 on MNIST", xLabel: "epoch", leftLabel: "loss", rightLabel: "accuracy (%)",
 *   series: [
 *     { name: "train loss", points: [[0.5, 0.4], [1, 0.1]] },
 *     { name: "test accuracy", points: [[1, 98.1]], axis: "right", markers: true },
 *   ],
 * })
 */
export function lineChartSvg(options: ChartOptions): string {
  const width = options.width ?? 720
  const height = options.height ?? 420
  const margin = { top: options.title ? 40 : 20, right: 70, bottom: 80, left: 70 }
  const plotW = width - margin.left - margin.right
  const plotH = height - margin.top - margin.bottom
  const finite = (s: Series): (readonly [number, number])[] => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))

  const all = options.series.flatMap(finite)
  const xTicks = niceTicks(Math.min(...all.map((p) => p[0]), 0), Math.max(...all.map((p) => p[0]), 1))
  const axisTicks = (axis: "left" | "right"): number[] | undefined => {
    const pts = options.series.filter((s) => (s.axis ?? "left") === axis).flatMap(finite)
    if (pts.length === 0) return undefined
    return niceTicks(Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1])))
  }
  const yTicks = { left: axisTicks("left"), right: axisTicks("right") }

  const xMin = xTicks[0]
  const xMax = xTicks[xTicks.length - 1]
  const sx = (x: number): number => margin.left + ((x - xMin) / (xMax - xMin)) * plotW
  const sy = (ticks: number[], y: number): number => margin.top + plotH - ((y - ticks[0]) / (ticks[ticks.length - 1] - ticks[0])) * plotH

  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  if (options.title) out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(options.title)}</text>`)

  // Grid and x ticks.
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1
  for (const t of xTicks) {
    const x = fmt(sx(t))
    out.push(`<line class="grid" x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#eee"/>`)
    out.push(`<text class="tick x" x="${x}" y="${margin.top + plotH + 18}" text-anchor="middle">${formatTick(t, xStep)}</text>`)
  }
  for (const axis of ["left", "right"] as const) {
    const ticks = yTicks[axis]
    if (ticks === undefined) continue
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1
    const xAxis = axis === "left" ? margin.left : margin.left + plotW
    out.push(`<line class="axis ${axis}" x1="${xAxis}" y1="${margin.top}" x2="${xAxis}" y2="${margin.top + plotH}" stroke="black"/>`)
    for (const t of ticks) {
      const y = fmt(sy(ticks, t))
      if (axis === "left") out.push(`<line class="grid" x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#eee"/>`)
      const dx = axis === "left" ? -6 : 6
      out.push(`<line x1="${xAxis}" y1="${y}" x2="${xAxis + dx}" y2="${y}" stroke="black"/>`)
      out.push(
        `<text class="tick ${axis}" x="${xAxis + dx * 1.5}" y="${y}" dy="4" text-anchor="${axis === "left" ? "end" : "start"}">${formatTick(t, step)}</text>`,
      )
    }
    const label = axis === "left" ? options.leftLabel : options.rightLabel
    if (label) {
      const lx = axis === "left" ? 18 : width - 14
      const ly = margin.top + plotH / 2
      out.push(`<text x="${lx}" y="${ly}" text-anchor="middle" transform="rotate(-90 ${lx} ${ly})">${escapeXml(label)}</text>`)
    }
  }
  out.push(`<line class="axis x" x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="black"/>`)
  if (options.xLabel) out.push(`<text x="${margin.left + plotW / 2}" y="${margin.top + plotH + 38}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`)

  // Series and legend.
  options.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]
    const ticks = yTicks[s.axis ?? "left"]
    const pts = finite(s)
    if (ticks !== undefined && pts.length > 0) {
      const d = pts.map(([x, y], k) => `${k === 0 ? "M" : "L"}${fmt(sx(x))},${fmt(sy(ticks, y))}`).join(" ")
      out.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
      if (s.markers) for (const [x, y] of pts) out.push(`<circle cx="${fmt(sx(x))}" cy="${fmt(sy(ticks, y))}" r="3" fill="${color}"/>`)
    }
    const lx = margin.left + (i % 3) * (plotW / 3)
    const ly = height - 18 - Math.floor(i / 3) * 16
    out.push(`<line class="legend" x1="${lx}" y1="${ly - 4}" x2="${lx + 20}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`)
    const side = s.axis === "right" ? " (right axis)" : ""
    out.push(`<text x="${lx + 26}" y="${ly}">${escapeXml(s.name + side)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}
