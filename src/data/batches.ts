/**
 * Turning an image dataset into training batches: normalisation, a seeded per-epoch
 * shuffle and NCHW float tensors with int32 labels. Browser-safe (no Node modules), so a
 * web demo can batch the same way the CLI does.
 */
import { FeedError } from "../errors.ts"
import { Random } from "../tensor/random.ts"
export type { ImageDataset } from "./dataset.ts"
import type { ImageDataset } from "./dataset.ts"
import { checkDataset, checkIndex, checkNormalize, checkRange, checkTable } from "./checks.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"


/** The mean and standard deviation of MNIST's training pixels in [0, 1] (torchvision's). */
export const MNIST_MEAN = 0.1307
/** The standard deviation of MNIST's training pixels in [0, 1] (torchvision's 0.3081). */
export const MNIST_STD = 0.3081

/** The first `n` examples of a dataset (views, no copy). `n` beyond the size keeps all. */
export function takeExamples(ds: ImageDataset, n: number | undefined): ImageDataset {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new FeedError(`number of examples ${n} (expected a positive integer)`)
  if (n === undefined || n >= ds.count) return ds
  const size = ds.channels * ds.height * ds.width
  return { ...ds, images: ds.images.subarray(0, n * size), labels: ds.labels.subarray(0, n), count: n }
}

/**
 * A 256-entry lookup table: pixel byte v -> (v / 255 - mean) / std, torchvision's
 * `ToTensor()` followed by `Normalize(mean, std)`. A table makes batching one load per pixel.
 */
export function normalizationTable(mean = MNIST_MEAN, std = MNIST_STD): Float64Array {
  checkNormalize(mean, std)
  const table = new Float64Array(256)
  for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std
  return table
}

/**
 * The order of the examples in epoch `epoch` (0-based): a Fisher-Yates shuffle with a PRNG
 * seeded from `seed` and `epoch` only. Because no state carries over from earlier epochs,
 * a run resumed at epoch k sees exactly the batches an uninterrupted run sees.
 *
 * @example
 * epochOrder(5, 42, 0) // e.g. Int32Array [3, 0, 4, 1, 2], the same every time
 */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new FeedError(`epochOrder count ${count} (expected a non-negative integer)`)
  // a NaN seed would silently shuffle like seed 0
  if (!Number.isInteger(seed) || !Number.isInteger(epoch)) throw new FeedError(`epochOrder seed ${seed}, epoch ${epoch} (expected integers)`)
  const order = new Int32Array(count)
  for (let i = 0; i < count; i++) order[i] = i
  new Random(epochSeed(seed, epoch)).shuffle(order)
  return order
}

/** Mixes seed and epoch into one uint32 (golden-ratio step keeps epochs' streams apart). */
export function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.imul(epoch + 1, 0x9e3779b9)) >>> 0
}

/** One batch: images [b, c, h, w] in the float dtype, labels [b] int32, dataset indices. */
export interface Batch {
  readonly x: Tensor
  readonly labels: Tensor
  readonly indices: Int32Array
}

/** Options of {@link batches}: batch size, example order, dtype, normalisation table. */
export interface BatchOptions {
  readonly batchSize: number
  /** Example order (e.g. {@link epochOrder}); default 0, 1, 2, ... */
  readonly order?: Int32Array
  readonly dtype?: FloatDType
  /** From {@link normalizationTable}; default MNIST's mean and std. */
  readonly table?: Float64Array
  /** Skip the last batch when it is smaller than `batchSize`. Default false: it is yielded, smaller. */
  readonly dropLast?: boolean
  /** Allocates the image buffers (e.g. in shared memory for a worker pool); default a plain typed array. */
  readonly allocate?: BatchAllocator
}

/** Makes a zero-filled float array of `size` elements for a batch. */
export type BatchAllocator = (dtype: FloatDType, size: number) => Float32Array | Float64Array

/** How many batches {@link batches} yields. */
export function batchCount(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize)
}

/**
 * Builds the batch of the examples `order[start..end)`. Every index is checked against the
 * dataset (FeedError when out of range), and the dataset's buffers against its header.
 */
export function makeBatch(
  ds: ImageDataset,
  order: ArrayLike<number>,
  start: number,
  end: number,
  dtype: FloatDType = "float32",
  table = normalizationTable(),
  allocate?: BatchAllocator,
): Batch {
  checkDataset(ds)
  checkRange(start, end, order.length)
  checkTable(table)
  const b = end - start
  const size = ds.channels * ds.height * ds.width
  const x = allocate !== undefined ? allocate(dtype, b * size) : dtype === "float32" ? new Float32Array(b * size) : new Float64Array(b * size)
  const labels = new Int32Array(b)
  const indices = new Int32Array(b)
  const images = ds.images
  for (let i = 0; i < b; i++) {
    const k = order[start + i]
    checkIndex(k, ds.count, `order[${start + i}]`)
    indices[i] = k
    labels[i] = ds.labels[k]
    const src = k * size
    const dst = i * size
    for (let p = 0; p < size; p++) x[dst + p] = table[images[src + p]]
  }
  return {
    x: { shape: [b, ds.channels, ds.height, ds.width], dtype, data: x },
    labels: { shape: [b], dtype: "int32", data: labels },
    indices,
  }
}

/**
 * Yields the dataset in batches of `batchSize` (the last one smaller unless `dropLast`).
 *
 * @example
 * for (const { x, labels } of batches(train, { batchSize: 64, order: epochOrder(train.count, seed, epoch) })) {
 *   trainer.step(x, labels)
 * }
 */
export function* batches(ds: ImageDataset, options: BatchOptions): Generator<Batch> {
  const { batchSize, dtype = "float32", dropLast = false } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new FeedError(`batch size ${batchSize} (expected a positive integer)`)
  checkDataset(ds)
  const order = options.order ?? Int32Array.from({ length: ds.count }, (_, i) => i)
  if (order.length !== ds.count) throw new FeedError(`an order of ${order.length} indices for a dataset of ${ds.count} (expected ${ds.count})`)
  const table = options.table ?? normalizationTable()
  const n = batchCount(ds.count, batchSize, dropLast)
  for (let i = 0; i < n; i++) {
    const start = i * batchSize
    yield makeBatch(ds, order, start, Math.min(start + batchSize, ds.count), dtype, table, options.allocate)
  }
}
