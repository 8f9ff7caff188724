/**
 * Rendering helpers of the page as pure functions (strings and pixel arrays), so they are
 * unit-tested in Node and the page only assigns their results to the DOM.
 *
 * Charts: two small series (loss, accuracy) that only grow, drawn as SVG polylines. A
 * chart library (uPlot, Chart.js) would add a dependency and a canvas whose output a test
 * without a browser cannot read; a polyline over at most {@link MAX_CHART_POINTS} points
 * costs microseconds per update and is checked here line by line.
 */
import type { Heatmap } from "./engine.ts"
import type { Point } from "./protocol.ts"

/** Curves are thinned to at most this many points before drawing. */
export const MAX_CHART_POINTS = 400

/**
 * At most `max` points: the series cut into `max` equal runs, each replaced by its mean
 * (x and y), so a long run keeps its shape and the last point stays close to the last value.
 *
 * @example
 * thin([[1, 1], [2, 3], [3, 5], [4, 7]], 2) // [[1.5, 2], [3.5, 6]]
 */
export function thin(points: readonly Point[], max = MAX_CHART_POINTS): Point[] {
  if (points.length <= max) return [...points]
  const out: Point[] = []
  for (let k = 0; k < max; k++) {
    const a = Math.floor((k * points.length) / max)
    const b = Math.floor(((k + 1) * points.length) / max)
    let sx = 0
    let sy = 0
    for (let i = a; i < b; i++) {
      sx += points[i][0]
      sy += points[i][1]
    }
    out.push([sx / (b - a), sy / (b - a)])
  }
  return out
}

/** One curve of a chart. */
export interface Series {
  readonly label: string
  readonly color: string
  readonly points: readonly Point[]
}

/** Size, fixed y range and title of a {@link lineChartSvg} chart. */
export interface ChartOptions {
  readonly width?: number
  readonly height?: number
  /** Fixed y range (accuracy: [0, 100]); default the data's range. */
  readonly yMin?: number
  readonly yMax?: number
  readonly title?: string
}

const fmt = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3))

/**
 * A line chart as an SVG string: axes with min/max ticks, one polyline per series and a
 * legend. Empty series draw just the frame.
 *
 * @example
 * lineChartSvg([{ label: "loss", color: "#c00", points: [[1, 2.3], [100, 0.4]] }], { title: "training loss" })
 */
export function lineChartSvg(series: readonly Series[], options: ChartOptions = {}): string {
  const width = options.width ?? 360
  const height = options.height ?? 180
  const left = 44
  const right = 10
  const top = options.title ? 22 : 8
  const bottom = 22
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const xs = all.map((p) => p[0])
  const ys = all.map((p) => p[1])
  const x0 = xs.length ? Math.min(...xs) : 0
  const x1 = xs.length ? Math.max(...xs) : 1
  const y0 = options.yMin ?? (ys.length ? Math.min(...ys) : 0)
  const y1 = options.yMax ?? (ys.length ? Math.max(...ys) : 1)
  const sx = (x: number): number => left + (x1 > x0 ? ((x - x0) / (x1 - x0)) * (width - left - right) : 0)
  const sy = (y: number): number => top + (y1 > y0 ? (1 - (y - y0) / (y1 - y0)) * (height - top - bottom) : (height - top - bottom) / 2)
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`]
  if (options.title) out.push(`<text x="${left}" y="14" font-size="12">${options.title}</text>`)
  out.push(`<path d="M${left},${top}V${height - bottom}H${width - right}" fill="none" stroke="#888"/>`)
  out.push(`<text x="${left - 4}" y="${top + 8}" text-anchor="end">${fmt(y1)}</text>`)
  out.push(`<text x="${left - 4}" y="${height - bottom}" text-anchor="end">${fmt(y0)}</text>`)
  out.push(`<text x="${left}" y="${height - 6}">${fmt(x0)}</text>`)
  out.push(`<text x="${width - right}" y="${height - 6}" text-anchor="end">step ${fmt(x1)}</text>`)
  series.forEach((s, k) => {
    const pts = thin(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)))
    if (pts.length > 0) {
      const coords = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ")
      out.push(`<polyline class="series" data-label="${s.label}" points="${coords}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`)
    }
    out.push(`<text x="${width - right - 4}" y="${top + 12 + 12 * k}" text-anchor="end" fill="${s.color}">${s.label}</text>`)
  })
  out.push("</svg>")
  return out.join("")
}

/**
 * RGBA pixels of a heatmap: grey levels from `min` (black) to `max` (white), or, with
 * `diverging`, blue for negative and red for positive around 0 (for conv weights). NaN
 * cells (gaps between tiles) are transparent.
 */
export function heatmapRgba(h: Heatmap, options: { diverging?: boolean } = {}): Uint8ClampedArray {
  let lo = Infinity
  let hi = -Infinity
  for (const v of h.values) {
    if (!Number.isFinite(v)) continue
    lo = Math.min(lo, v)
    hi = Math.max(hi, v)
  }
  const out = new Uint8ClampedArray(h.width * h.height * 4)
  const extent = Math.max(Math.abs(lo), Math.abs(hi)) || 1
  for (let i = 0; i < h.values.length; i++) {
    const v = h.values[i]
    if (!Number.isFinite(v)) continue
    if (options.diverging) {
      const t = v / extent // -1 .. 1
      out[4 * i] = t > 0 ? 255 : Math.round(255 * (1 + t))
      out[4 * i + 1] = Math.round(255 * (1 - Math.abs(t)))
      out[4 * i + 2] = t < 0 ? 255 : Math.round(255 * (1 - t))
    } else {
      const g = hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 0
      out[4 * i] = out[4 * i + 1] = out[4 * i + 2] = g
    }
    out[4 * i + 3] = 255
  }
  return out
}

/**
 * A heatmap of one layer's output: [C, H, W] channels tiled `columns` per row, or a
 * [F] vector as one row.
 */
export function layerHeatmap(shape: readonly number[], data: Float32Array, columns = 8): Heatmap {
  if (shape.length === 1) return { width: shape[0], height: 1, values: Float64Array.from(data) }
  if (shape.length !== 3) throw new RangeError(`layerHeatmap: shape [${shape.join(", ")}] (expected [C, H, W] or [F])`)
  const [c, h, w] = shape
  const cols = Math.min(columns, c)
  const rows = Math.ceil(c / cols)
  const width = cols * w + cols - 1
  const height = rows * h + rows - 1
  const values = new Float64Array(width * height).fill(NaN)
  for (let k = 0; k < c; k++) {
    const x0 = (k % cols) * (w + 1)
    const y0 = Math.floor(k / cols) * (h + 1)
    for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) values[(y0 + r) * width + x0 + q] = data[k * h * w + r * w + q]
  }
  return { width, height, values }
}

/**
 * The confusion matrix as an HTML table (rows: true class, columns: predicted), each
 * cell shaded by its share of its row; the diagonal green, errors red.
 */
export function confusionTableHtml(confusion: ArrayLike<number>, classes = 10): string {
  const rows: string[] = [`<tr><th>true \\ predicted</th>${Array.from({ length: classes }, (_, c) => `<th>${c}</th>`).join("")}</tr>`]
  for (let t = 0; t < classes; t++) {
    let total = 0
    for (let p = 0; p < classes; p++) total += confusion[t * classes + p]
    const cells = Array.from({ length: classes }, (_, p) => {
      const n = confusion[t * classes + p]
      const share = total > 0 ? n / total : 0
      const bg = n === 0 ? "transparent" : t === p ? `rgba(40,160,70,${(0.15 + 0.85 * share).toFixed(2)})` : `rgba(210,50,50,${Math.min(1, 0.15 + 4 * share).toFixed(2)})`
      return `<td style="background:${bg}">${n}</td>`
    })
    rows.push(`<tr><th>${t}</th>${cells.join("")}</tr>`)
  }
  return `<table class="confusion">${rows.join("")}</table>`
}

/** Ten horizontal bars of class probabilities as HTML, the winner highlighted. */
export function probabilityBarsHtml(probabilities: ArrayLike<number>): string {
  let best = 0
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i
  return Array.from(probabilities, (p, c) => {
    const pct = (100 * p).toFixed(1)
    return `<div class="bar${c === best ? " best" : ""}"><span class="digit">${c}</span><span class="fill" style="width:${pct}%"></span><span class="pct">${pct}%</span></div>`
  }).join("")
}

/** A number as the page shows it in a data-testid element: plain text, fixed decimals. */
export function plainNumber(v: number, decimals: number): string {
  return Number.isFinite(v) ? v.toFixed(decimals) : ""
}
