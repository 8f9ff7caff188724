/**
 * Bounds checks of the data pipeline: every index a batch reads is inside the dataset and
 * the dataset's buffers hold what its header claims, so a bad index or a short file is a
 * FeedError instead of NaN pixels (reads past a typed array) and label 0.
 */
import { FeedError } from "../errors.ts"
import type { ImageDataset } from "./dataset.ts"

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0

/** Throws a FeedError unless the dataset's buffers are as long as its count and geometry say. */
export function checkDataset(ds: ImageDataset): void {
  for (const field of ["count", "channels", "height", "width"] as const) {
    if (!isCount(ds[field])) throw new FeedError(`dataset ${field} = ${String(ds[field])} (expected a non-negative integer)`)
  }
  const size = ds.channels * ds.height * ds.width
  if (ds.images.length < ds.count * size) {
    throw new FeedError(
      `dataset images hold ${ds.images.length} bytes but ${ds.count} images of ${ds.channels}x${ds.height}x${ds.width} need ${ds.count * size} (expected a buffer at least that long)`,
    )
  }
  if (ds.labels.length < ds.count) throw new FeedError(`dataset labels hold ${ds.labels.length} entries for ${ds.count} images (expected one label per image)`)
}

/** Throws a FeedError unless `k` is an example index of a dataset of `count` examples. */
export function checkIndex(k: number, count: number, where: string): void {
  if (!(Number.isInteger(k) && k >= 0 && k < count)) throw new FeedError(`${where} is ${k} (expected an integer index 0 <= index < ${count}, the dataset size)`)
}

/** Throws a FeedError unless [start, end) is a range inside an order of `length` indices. */
export function checkRange(start: number, end: number, length: number): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= length)) {
    throw new FeedError(`batch range [${start}, ${end}) (expected integers 0 <= start <= end <= ${length}, the order's length)`)
  }
}

/** Throws a FeedError unless `table` maps each of the 256 byte values (normalizationTable). */
export function checkTable(table: ArrayLike<number>): void {
  if (table.length !== 256) throw new FeedError(`normalization table has ${table.length} entries (expected 256, one per pixel byte; see normalizationTable)`)
}

/** Throws a FeedError unless mean and std make a finite Normalize (std 0 would give ±Infinity). */
export function checkNormalize(mean: number, std: number): void {
  if (!Number.isFinite(mean)) throw new FeedError(`Normalize mean = ${mean} (expected a finite number)`)
  if (!Number.isFinite(std) || std === 0) throw new FeedError(`Normalize std = ${std} (expected a finite non-zero number; std 0 divides every pixel by zero)`)
}
