import { mnistDataset } from "../../playground/src/session.ts"
import { Random } from "../../src/tensor/random.ts"
import type { ImageDataset } from "../../src/data/batches.ts"

/**
 * A tiny MNIST-shaped dataset where class k is a bright horizontal bar at rows 2k+4..2k+6
 * on noise: learnable in a few dozen steps, so tests can assert learning.
 */
export function barDigits(count: number, seed: number): ImageDataset {
  const random = new Random(seed)
  const images = new Uint8Array(count * 784)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const k = i % 10
    labels[i] = k
    for (let p = 0; p < 784; p++) images[i * 784 + p] = Math.floor(random.next() * 40)
    for (let r = 2 * k + 4; r < 2 * k + 7; r++) for (let c = 4; c < 24; c++) images[i * 784 + r * 28 + c] = 255
  }
  return mnistDataset(images, labels, count)
}
