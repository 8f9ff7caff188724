/**
 * Loading the MNIST subset in the worker: four IDX files fetched with a byte count for the
 * loading bar, parsed and validated by dagrad's browser-safe IDX reader.
 */
import { parseIdx, type ImageDataset } from "./engine.ts"
import { mnistDataset } from "./session.ts"

/** What scripts/copy-mnist.mjs writes next to the IDX files. */
export interface Manifest {
  readonly trainCount: number
  readonly testCount: number
  readonly files: { readonly [name: string]: number }
}

/** A fetch of bytes that reports how many arrived (injected, so tests need no network). */
export type ByteFetcher = (url: string, onBytes: (n: number) => void) => Promise<Uint8Array>

/** Reads a response body chunk by chunk, counting bytes. */
export const fetchBytes: ByteFetcher = async (url, onBytes) => {
  const response = await fetch(url)
  if (!response.ok || response.body === null) throw new Error(`GET ${url}: HTTP ${response.status} (expected the MNIST subset; run npm run playground:data)`)
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    length += value.length
    onBytes(value.length)
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** Loads and parses the four files under `baseUrl` (ending in /). */
export async function loadMnist(
  baseUrl: string,
  progress: (loaded: number, total: number) => void,
  fetcher: ByteFetcher = fetchBytes,
): Promise<{ train: ImageDataset; test: ImageDataset }> {
  const manifest = JSON.parse(new TextDecoder().decode(await fetcher(baseUrl + "manifest.json", () => {}))) as Manifest
  const total = Object.values(manifest.files).reduce((a, b) => a + b, 0)
  let loaded = 0
  progress(0, total)
  const get = (name: string): Promise<Uint8Array> =>
    fetcher(baseUrl + name, (n) => {
      loaded += n
      progress(loaded, total)
    })
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"].map(get),
  )
  const images = (bytes: Uint8Array, name: string, n: number): Uint8Array => parseIdx(bytes, name, { type: "uint8", rank: 3, dims: [n, 28, 28] }).data as Uint8Array
  const labels = (bytes: Uint8Array, name: string, n: number): Uint8Array => parseIdx(bytes, name, { type: "uint8", rank: 1, dims: [n] }).data as Uint8Array
  const { trainCount: nTrain, testCount: nTest } = manifest
  return {
    train: mnistDataset(images(trainImages, "train-images-idx3-ubyte", nTrain), labels(trainLabels, "train-labels-idx1-ubyte", nTrain), nTrain),
    test: mnistDataset(images(testImages, "t10k-images-idx3-ubyte", nTest), labels(testLabels, "t10k-labels-idx1-ubyte", nTest), nTest),
  }
}
