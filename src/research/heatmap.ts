/**
 * Heatmaps of 2-d maps (win counts, gradient mass, images) as plain strings: an ASCII
 * rendering for the terminal and a standalone SVG document a browser opens. Pure string
 * building, browser-safe; the Node examples just write the strings to files.
 */
import { ShapeError, showShape } from "../errors.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** A row-major 2-d grid of numbers. */
export interface Heatmap {
  readonly width: number
  readonly height: number
  readonly values: Float64Array
}

/**
 * The 2-d slice of a tensor at leading index `lead` ([n, c] for NCHW). A 1-d spatial
 * tensor ([N, C, L]) gives one row; a 3-d one ([N, C, D, H, W]) sums over D.
 *
 * @example
 * heatmapOf(map.winCounts, [0, 3]) // sample 0, channel 3
 */
export function heatmapOf(t: Tensor, lead: readonly number[] = []): Heatmap {
  const spatial = t.shape.slice(lead.length)
  if (spatial.length < 1 || spatial.length > 3) throw new ShapeError(`heatmapOf: ${showShape(t.shape)} with leading index [${lead.join(", ")}] leaves ${spatial.length} dims (expected 1 to 3)`)
  let offset = 0
  let stride = spatial.reduce((a, d) => a * d, 1)
  lead.forEach((i, d) => {
    if (i < 0 || i >= t.shape[d]) throw new ShapeError(`heatmapOf: index ${i} in dim ${d} of ${showShape(t.shape)}`)
    stride = t.shape.slice(d + 1).reduce((a, s) => a * s, 1)
    offset += i * stride
  })
  const depth = spatial.length === 3 ? spatial[0] : 1
  const height = spatial.length === 1 ? 1 : spatial[spatial.length - 2]
  const width = spatial[spatial.length - 1]
  const values = new Float64Array(width * height)
  for (let z = 0; z < depth; z++) for (let k = 0; k < width * height; k++) values[k] += t.data[offset + z * width * height + k]
  return { width, height, values }
}

/**
 * Several maps side by side, `columns` per row, separated by `gap` blank (NaN) cells: all
 * channels of a layer in one picture.
 *
 * @example
 * tileHeatmaps([0, 1, 2, 3, 4, 5].map((c) => heatmapOf(map.winCounts, [0, c])), 3)
 */
export function tileHeatmaps(maps: readonly Heatmap[], columns = maps.length, gap = 1): Heatmap {
  if (maps.length === 0) return { width: 0, height: 0, values: new Float64Array(0) }
  const w = Math.max(...maps.map((m) => m.width))
  const h = Math.max(...maps.map((m) => m.height))
  const cols = Math.max(1, Math.min(columns, maps.length))
  const rows = Math.ceil(maps.length / cols)
  const width = cols * w + (cols - 1) * gap
  const height = rows * h + (rows - 1) * gap
  const values = new Float64Array(width * height).fill(NaN)
  maps.forEach((m, k) => {
    const x0 = (k % cols) * (w + gap)
    const y0 = Math.floor(k / cols) * (h + gap)
    for (let r = 0; r < m.height; r++) for (let c = 0; c < m.width; c++) values[(y0 + r) * width + x0 + c] = m.values[r * m.width + c]
  })
  return { width, height, values }
}

/** Smallest and largest finite value. */
function range(h: Heatmap): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const v of h.values) {
    if (!Number.isFinite(v)) continue
    lo = Math.min(lo, v)
    hi = Math.max(hi, v)
  }
  return lo > hi ? [0, 0] : [lo, hi]
}

/** Options of {@link asciiHeatmap}: the shade ramp or numbers, the value range, a caption. */
export interface AsciiOptions {
  /** Characters from low to high. Default " .:-=+*#%@". */
  readonly ramp?: string
  /** Print each cell's value (rounded) instead of a shade: for small maps. Default false. */
  readonly numbers?: boolean
  /** Value mapped to the lowest shade (default min(0, smallest value)). */
  readonly min?: number
  /** Value mapped to the highest shade (default the largest value). */
  readonly max?: number
  /** A caption line. */
  readonly title?: string
}

/**
 * An ASCII heatmap: one character per cell (doubled horizontally so cells look square),
 * darker for larger values, plus a legend line.
 *
 * @example
 * console.log(asciiHeatmap({ width: 3, height: 1, values: Float64Array.from([0, 1, 2]) }))
 * // "    ::@@" then "  ' ' = 0 ... '@' = 2"
 */
export function asciiHeatmap(h: Heatmap, options: AsciiOptions = {}): string {
  const ramp = options.ramp ?? " .:-=+*#%@"
  const [lo0, hi0] = range(h)
  const lo = options.min ?? Math.min(0, lo0)
  const hi = options.max ?? hi0
  const lines: string[] = []
  if (options.title) lines.push(options.title)
  if (options.numbers) {
    const cells = Array.from(h.values, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2)))
    const w = Math.max(...cells.map((c) => c.length))
    for (let r = 0; r < h.height; r++) lines.push(cells.slice(r * h.width, (r + 1) * h.width).map((c) => c.padStart(w)).join(" "))
    return lines.join("\n")
  }
  for (let r = 0; r < h.height; r++) {
    let line = ""
    for (let c = 0; c < h.width; c++) {
      const v = h.values[r * h.width + c]
      const t = hi > lo ? (v - lo) / (hi - lo) : 0
      const ch = Number.isFinite(v) ? ramp[Math.max(0, Math.min(ramp.length - 1, Math.round(t * (ramp.length - 1))))] : " "
      line += ch + ch
    }
    lines.push(line)
  }
  lines.push(`'${ramp[0]}' = ${fmt(lo)} ... '${ramp[ramp.length - 1]}' = ${fmt(hi)}`)
  return lines.join("\n")
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toPrecision(3))

/** Escapes text for SVG content and attributes. */
function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
}

/** White to dark blue through teal: readable, and ordered in lightness for grey printing. */
function color(t: number): string {
  const stops: [number, number, number][] = [
    [255, 255, 255],
    [199, 233, 180],
    [65, 182, 196],
    [34, 94, 168],
    [8, 29, 88],
  ]
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1)
  const i = Math.min(stops.length - 2, Math.floor(x))
  const f = x - i
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f))
  return `rgb(${c[0]},${c[1]},${c[2]})`
}

/** Options of {@link heatmapSvg}: cell size, title, per-cell labels, the colour scale's range. */
export interface SvgHeatmapOptions {
  /** Pixels per cell. Default 16. */
  readonly cell?: number
  readonly title?: string
  /** Write each value in its cell (for small maps). Default: when the map has at most 32 x 32 cells. */
  readonly labels?: boolean
  readonly min?: number
  readonly max?: number
}

/**
 * A standalone SVG heatmap: one square per cell (hover shows row, column and value), a
 * title and a colour legend.
 *
 * @example
 * writeFileSync("pool1.svg", heatmapSvg(heatmapOf(map.winCounts, [0, 0]), { title: "pool1 wins, channel 0" }))
 */
export function heatmapSvg(h: Heatmap, options: SvgHeatmapOptions = {}): string {
  const cell = options.cell ?? 16
  const [lo0, hi0] = range(h)
  const lo = options.min ?? Math.min(0, lo0)
  const hi = options.max ?? hi0
  const top = options.title ? 28 : 8
  const gridW = h.width * cell
  const gridH = h.height * cell
  const width = Math.max(gridW + 16, 220)
  const height = top + gridH + 40
  const labels = options.labels ?? (h.width <= 32 && h.height <= 32)
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`)
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`)
  if (options.title) out.push(`<text x="8" y="18" font-size="13">${escapeXml(options.title)}</text>`)
  for (let r = 0; r < h.height; r++) {
    for (let c = 0; c < h.width; c++) {
      const v = h.values[r * h.width + c]
      const t = hi > lo ? (v - lo) / (hi - lo) : 0
      const x = 8 + c * cell
      const y = top + r * cell
      if (!Number.isFinite(v)) continue // gaps between tiles (NaN) stay blank
      out.push(`<rect class="cell" x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${color(t)}"><title>row ${r}, col ${c}: ${fmt(v)}</title></rect>`)
      if (labels && v !== 0) {
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" font-size="${Math.max(6, cell * 0.55).toFixed(1)}" fill="${t > 0.5 ? "white" : "black"}">${fmt(v)}</text>`)
      }
    }
  }
  // Legend: a 10-step bar from lo to hi.
  const ly = top + gridH + 12
  for (let k = 0; k < 10; k++) out.push(`<rect x="${8 + k * 14}" y="${ly}" width="14" height="10" fill="${color(k / 9)}"/>`)
  out.push(`<text x="8" y="${ly + 24}">${fmt(lo)}</text><text x="${8 + 140}" y="${ly + 24}" text-anchor="end">${fmt(hi)}</text>`)
  out.push("</svg>")
  return out.join("\n") + "\n"
}
