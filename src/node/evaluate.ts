/**
 * Evaluating a classifier on a dataset (loss, accuracy, confusion matrix) and the text
 * renderings the CLI prints: confusion matrices, class probabilities, ASCII digits.
 */
import { batches, type BatchAllocator, type ImageDataset } from "../data/batches.ts"
import type { Trainer } from "../nn/trainer.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** What {@link evaluateDataset} returns: mean loss, accuracy, and the confusion matrix. */
export interface Evaluation {
  /** Mean cross-entropy of the logits against the labels. */
  readonly loss: number
  readonly accuracy: number
  readonly correct: number
  readonly count: number
  /** confusion[true][predicted] = number of examples. */
  readonly confusion: readonly (readonly number[])[]
}

/**
 * Runs the model in inference mode over the whole dataset (in order, batches of
 * `batchSize`, the last one smaller) and scores it.
 */
export function evaluateDataset(trainer: Trainer, ds: ImageDataset, batchSize = 500, allocate?: BatchAllocator): Evaluation {
  const k = ds.numClasses
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0))
  let lossSum = 0
  let correct = 0
  for (const batch of batches(ds, { batchSize, dtype: trainer.dtype, allocate })) {
    const logits = trainer.predict(batch.x)
    const n = batch.labels.shape[0]
    for (let i = 0; i < n; i++) {
      const label = batch.labels.data[i]
      const { loss, predicted } = rowLossAndArgmax(logits, i, label)
      lossSum += loss
      confusion[label][predicted]++
      if (predicted === label) correct++
    }
  }
  return { loss: lossSum / ds.count, accuracy: correct / ds.count, correct, count: ds.count, confusion }
}

/**
 * Cross-entropy of row i against `label`, in float64 with the log-sum-exp shift:
 * loss = log(sum_j exp(z_j - m)) - (z_label - m), m = max_j z_j. The arg-max takes the
 * first of equal maxima (as torch.argmax).
 */
function rowLossAndArgmax(logits: Tensor, i: number, label: number): { loss: number; predicted: number } {
  const c = logits.shape[1]
  const z = logits.data
  let m = z[i * c]
  let predicted = 0
  for (let j = 1; j < c; j++) {
    if (z[i * c + j] > m) {
      m = z[i * c + j]
      predicted = j
    }
  }
  let s = 0
  for (let j = 0; j < c; j++) s += Math.exp(z[i * c + j] - m)
  return { loss: Math.log(s) - (z[i * c + label] - m), predicted }
}

/** softmax of one row of logits, in float64. */
export function softmaxRow(logits: ArrayLike<number>): number[] {
  let m = -Infinity
  for (let j = 0; j < logits.length; j++) m = Math.max(m, logits[j])
  const e = Array.from(logits, (v) => Math.exp(v - m))
  const s = e.reduce((a, b) => a + b, 0)
  return e.map((v) => v / s)
}

/**
 * A confusion matrix as an aligned table with per-class recall.
 *
 * @example
 * formatConfusion([[5, 1], [0, 4]])
 * //        0    1   recall
 * //  0     5    1   83.3%
 * //  1     0    4  100.0%
 */
export function formatConfusion(confusion: readonly (readonly number[])[]): string {
  const k = confusion.length
  const width = Math.max(4, ...confusion.flat().map((v) => String(v).length + 1))
  const cell = (s: string | number): string => String(s).padStart(width)
  const lines = [`${"".padStart(3)}${confusion.map((_, j) => cell(j)).join("")}${"recall".padStart(9)}`]
  for (let i = 0; i < k; i++) {
    const total = confusion[i].reduce((a, b) => a + b, 0)
    const recall = total === 0 ? "-" : `${((100 * confusion[i][i]) / total).toFixed(1)}%`
    lines.push(`${String(i).padStart(3)}${confusion[i].map(cell).join("")}${recall.padStart(9)}`)
  }
  return lines.join("\n")
}

const SHADES = " .:-=+*#%@"

/**
 * An image as text, two characters per pixel (so it keeps its aspect ratio), darker
 * characters for brighter pixels.
 */
export function asciiImage(pixels: ArrayLike<number>, height: number, width: number): string {
  const lines: string[] = []
  for (let r = 0; r < height; r++) {
    let line = ""
    for (let c = 0; c < width; c++) {
      const ch = SHADES[Math.min(SHADES.length - 1, Math.floor((pixels[r * width + c] / 256) * SHADES.length))]
      line += ch + ch
    }
    lines.push(line.trimEnd())
  }
  return lines.join("\n")
}

/** Class probabilities as lines with a bar: `7  0.9987 ##########################`. */
export function formatProbabilities(probabilities: readonly number[], barWidth = 30): string {
  return probabilities.map((p, j) => `${j}  ${p.toFixed(4)} ${"#".repeat(Math.round(p * barWidth))}`).join("\n")
}
