/**
 * Turning a drawing into an MNIST-like 28x28 digit, the way the MNIST images were made:
 * the ink's bounding box is scaled (aspect kept) to fit a 20x20 box by area averaging,
 * then placed in the 28x28 frame so that its centre of mass is at the centre. Without
 * this, a digit drawn small or in a corner is far from anything the model saw.
 */

/** 28 x 28 = 784 ink values in [0, 1]. */
export const DIGIT_SIZE = 28
const BOX = 20

/**
 * A `size` x `size` ink map (values in [0, 1], row-major, e.g. a canvas's alpha / 255) as
 * a 28x28 MNIST-style digit. An empty drawing gives all zeros.
 *
 * @example
 * const ink = new Float32Array(280 * 280); // ... draw ...
 * toMnistDigit(ink, 280) // Float32Array(784)
 */
export function toMnistDigit(ink: ArrayLike<number>, size: number): Float32Array {
  if (ink.length !== size * size) throw new RangeError(`toMnistDigit: ${ink.length} values for a ${size} x ${size} drawing`)
  let top = size
  let bottom = -1
  let left = size
  let right = -1
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (ink[y * size + x] > 0) {
        top = Math.min(top, y)
        bottom = Math.max(bottom, y)
        left = Math.min(left, x)
        right = Math.max(right, x)
      }
    }
  }
  const out = new Float32Array(DIGIT_SIZE * DIGIT_SIZE)
  if (bottom < 0) return out
  const boxW = right - left + 1
  const boxH = bottom - top + 1
  const scale = BOX / Math.max(boxW, boxH) // target pixels per source pixel
  const w = Math.max(1, Math.round(boxW * scale))
  const h = Math.max(1, Math.round(boxH * scale))
  // Area averaging: each target pixel is the mean of the source pixels it covers.
  const small = new Float64Array(w * h)
  for (let ty = 0; ty < h; ty++) {
    const sy0 = top + (ty * boxH) / h
    const sy1 = top + ((ty + 1) * boxH) / h
    for (let tx = 0; tx < w; tx++) {
      const sx0 = left + (tx * boxW) / w
      const sx1 = left + ((tx + 1) * boxW) / w
      let sum = 0
      let area = 0
      for (let y = Math.floor(sy0); y < Math.ceil(sy1); y++) {
        const fy = Math.min(y + 1, sy1) - Math.max(y, sy0)
        for (let x = Math.floor(sx0); x < Math.ceil(sx1); x++) {
          const f = fy * (Math.min(x + 1, sx1) - Math.max(x, sx0))
          sum += f * ink[y * size + x]
          area += f
        }
      }
      small[ty * w + tx] = area > 0 ? sum / area : 0
    }
  }
  // Centre of mass of the scaled digit, moved to the frame's centre.
  let mass = 0
  let cx = 0
  let cy = 0
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x]
      mass += v
      cx += v * (x + 0.5)
      cy += v * (y + 0.5)
    }
  }
  const ox = Math.round(DIGIT_SIZE / 2 - cx / mass)
  const oy = Math.round(DIGIT_SIZE / 2 - cy / mass)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const X = x + ox
      const Y = y + oy
      if (X >= 0 && X < DIGIT_SIZE && Y >= 0 && Y < DIGIT_SIZE) out[Y * DIGIT_SIZE + X] = Math.min(1, small[y * w + x])
    }
  }
  return out
}
