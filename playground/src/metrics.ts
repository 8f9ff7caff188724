/** Small numeric helpers shared by the session and the page: arg-max, softmax, confusion counts. */

/** Index of the largest value (the first on ties, like PyTorch's argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i
  return best
}

/**
 * Softmax in float64, shifted by the maximum so large logits do not overflow.
 *
 * @example
 * softmax([0, Math.log(3)]) // [0.25, 0.75]
 */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i])
  const out = new Float64Array(logits.length)
  let sum = 0
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max)
  for (let i = 0; i < out.length; i++) out[i] /= sum
  return out
}

/**
 * Counts (true, predicted) pairs: entry `t * classes + p`.
 *
 * @example
 * confusionMatrix([0, 1, 1], [0, 1, 0], 2) // Int32Array [1, 1, 0, 1]
 */
export function confusionMatrix(predicted: ArrayLike<number>, labels: ArrayLike<number>, classes: number): Int32Array {
  if (predicted.length !== labels.length) throw new RangeError(`confusionMatrix: ${predicted.length} predictions for ${labels.length} labels (expected equal counts)`)
  const m = new Int32Array(classes * classes)
  for (let i = 0; i < labels.length; i++) m[labels[i] * classes + predicted[i]]++
  return m
}
