import type { FloatDType } from "../tensor/dtype.ts"
import { sizeOf, type Shape } from "../tensor/shape.ts"
import { buildModelGraph, namedParameters, type Module } from "./module.ts"

/** One layer of a {@link summary}. */
export interface SummaryRow {
  /** Full dotted path (`conv1`, `features.0`). */
  readonly name: string
  readonly type: string
  /** The layer's own description, e.g. `Conv2d(1, 6, kernel_size=[5, 5], padding=[2, 2])`. */
  readonly description: string
  /** Output shape with the batch dim (the first entry) as built; shown as `N`. */
  readonly outputShape: readonly number[]
  /** Trainable scalars the layer owns. */
  readonly params: number
  /** Buffer scalars the layer owns (batch norm running statistics). */
  readonly buffers: number
}

/** What {@link summary} returns: the per-layer rows, parameter counts, and the printed table. */
export interface ModelSummary {
  readonly inputShape: readonly number[]
  readonly rows: readonly SummaryRow[]
  readonly totalParams: number
  readonly trainableParams: number
  /** Buffers (not trained by the optimizer), counted like Keras' non-trainable params. */
  readonly nonTrainableParams: number
  /** The Keras-style table. */
  readonly text: string
}

/** Options of {@link summary}. */
export interface SummaryOptions {
  /** Also print the table with console.log. Default false. */
  readonly print?: boolean
  readonly dtype?: FloatDType
}

/**
 * A Keras-style table of a model: each layer's name and type, its output shape on an
 * input of `inputShape` (per sample, no batch dim; default `model.inputShape`), and its
 * parameter count, with totals. Shapes come from building the inference graph (nothing
 * runs), so they are exactly what the engine will use.
 *
 * @example
 * summary(lenet5(), [1, 28, 28]).totalParams // 61706
 * console.log(summary(lenet5()).text)
 */
export function summary(model: Module, inputShape?: Shape, options: SummaryOptions = {}): ModelSummary {
  const shape = inputShape ?? model.inputShape
  const rows: SummaryRow[] = []
  const own = (m: Module): { params: number; buffers: number } => {
    let params = 0
    let buffers = 0
    for (const p of m.params) {
      if (p.trainable) params += sizeOf(p.shape)
      else buffers += sizeOf(p.shape)
    }
    return { params, buffers }
  }
  const describe = (m: Module): string => m.describe?.() ?? `${m.type}()`
  const { output } = buildModelGraph(model, {
    batchSize: 1,
    inputShape: shape,
    dtype: options.dtype ?? "float32",
    training: false,
    observer: (path, m, y) => {
      // Containers are listed through their leaves; only layers that own work show up.
      if (m.children !== undefined && m.children.length > 0) return
      rows.push({ name: path, type: m.type, description: describe(m), outputShape: [...y.shape], ...own(m) })
    },
  })
  if (rows.length === 0) rows.push({ name: "", type: model.type, description: describe(model), outputShape: [...output.shape], ...own(model) })

  let trainable = 0
  let nonTrainable = 0
  for (const p of namedParameters(model)) {
    if (p.trainable) trainable += sizeOf(p.shape)
    else nonTrainable += sizeOf(p.shape)
  }
  const result = {
    inputShape: [...(shape ?? [])],
    rows,
    totalParams: trainable + nonTrainable,
    trainableParams: trainable,
    nonTrainableParams: nonTrainable,
  }
  const text = formatSummary(result)
  if (options.print) console.log(text)
  return { ...result, text }
}

/** Digits grouped by thousands with commas, independent of the locale: 61706 -> "61,706". */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",")
}

function formatSummary(s: Omit<ModelSummary, "text">): string {
  const shapeText = (shape: readonly number[]): string => `[${["N", ...shape.slice(1)].join(", ")}]`
  const table = [
    ["Layer (type)", "Output Shape", "Param #"],
    ...s.rows.map((r) => [`${r.name || "(root)"} (${r.type})`, shapeText(r.outputShape), groupThousands(r.params + r.buffers)]),
  ]
  const widths = [0, 1, 2].map((c) => Math.max(...table.map((row) => row[c].length)))
  const line = (row: readonly string[]): string =>
    `${row[0].padEnd(widths[0] + 3)}${row[1].padEnd(widths[1] + 3)}${row[2].padStart(widths[2])}`
  const width = widths[0] + widths[1] + widths[2] + 6
  return [
    `Model: ${s.rows.length} layers, input [N, ${s.inputShape.join(", ")}]`,
    "=".repeat(width),
    line(table[0]),
    "=".repeat(width),
    ...table.slice(1).map(line),
    "=".repeat(width),
    `Total params: ${groupThousands(s.totalParams)}`,
    `Trainable params: ${groupThousands(s.trainableParams)}`,
    `Non-trainable params: ${groupThousands(s.nonTrainableParams)}`,
  ].join("\n")
}
