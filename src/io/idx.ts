/**
 * A reader for the IDX file format (LeCun's format for MNIST and friends).
 *
 * Layout, all integers big-endian:
 * ```
 * byte 0..1   0x00 0x00
 * byte 2      element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 * byte 3      number of dimensions d
 * 4 * d       the dimensions, uint32 each
 * rest        the elements, row-major, big-endian
 * ```
 * So MNIST labels start with the magic number 0x00000801 (uint8, 1 dim) and images with
 * 0x00000803 (uint8, 3 dims). We check the magic, the dimensions and that the file is
 * EXACTLY as long as the header says: a truncated download, a file with trailing junk or
 * a labels file passed as images all fail here with a FormatError that names the file,
 * what was found and what was expected, instead of producing garbage tensors later.
 *
 * Bytes only (browser-safe); reading files, gzipped or not, is `dagrad/node`'s readIdxFile.
 */
import { FormatError } from "../errors.ts"

/** IDX element type codes (byte 2 of the magic number) and their names. */
const TYPE_NAMES: { readonly [code: number]: IdxType } = {
  0x08: "uint8",
  0x09: "int8",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
}
const TYPE_SIZES: { readonly [T in IdxType]: number } = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 }

/** The element types an IDX file can hold (MNIST images and labels are `uint8`). */
export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64"

/** Element arrays by IDX type. uint8 data is a view into the file's bytes (no copy). */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array

/** A parsed IDX file. */
export interface IdxArray {
  readonly type: IdxType
  readonly shape: readonly number[]
  readonly data: IdxData
}

/** What the caller requires of a file; anything else is a FormatError. */
export interface IdxExpectation {
  /** Element type, e.g. `uint8` for MNIST. */
  readonly type?: IdxType
  /** Number of dimensions (1 for labels, 3 for images). */
  readonly rank?: number
  /** Required sizes; `undefined` entries are free (e.g. `[undefined, 28, 28]`). */
  readonly dims?: readonly (number | undefined)[]
}

/** The magic number (first 4 bytes) of an IDX file with these properties. */
export function idxMagic(type: IdxType, rank: number): number {
  const code = Number(Object.keys(TYPE_NAMES).find((k) => TYPE_NAMES[Number(k)] === type))
  return ((code << 8) | rank) >>> 0
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0")
}

function describeMagic(magic: number): string {
  const type = TYPE_NAMES[(magic >>> 8) & 0xff]
  if (magic >>> 16 !== 0 || type === undefined) return `${hex(magic)} (not an IDX header)`
  return `${hex(magic)} (${type}, ${magic & 0xff} dims)`
}

/**
 * Parses the bytes of an IDX file. `name` (a path) is used in error messages.
 *
 * @example
 * const labels = parseIdx(bytes, "train-labels-idx1-ubyte", { type: "uint8", rank: 1 })
 * labels.shape // [60000]
 */
export function parseIdx(bytes: Uint8Array, name = "<idx>", expect: IdxExpectation = {}): IdxArray {
  const fail = (found: string, expected: string): never => {
    throw new FormatError(`${name}: found ${found}, expected ${expected}`)
  }
  if (bytes.length < 4) fail(`only ${bytes.length} bytes`, "at least a 4-byte IDX magic number")
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = view.getUint32(0, false)
  const type = TYPE_NAMES[bytes[2]]
  const rank = bytes[3]
  const wantedMagic = expect.type !== undefined && expect.rank !== undefined ? idxMagic(expect.type, expect.rank) : undefined
  if (bytes[0] !== 0 || bytes[1] !== 0 || type === undefined) {
    fail(
      `magic number ${describeMagic(magic)}`,
      wantedMagic !== undefined ? `IDX magic ${describeMagic(wantedMagic)}` : "an IDX magic number 0x00000Ttd (two zero bytes, a type code, a rank)",
    )
  }
  if ((expect.type !== undefined && type !== expect.type) || (expect.rank !== undefined && rank !== expect.rank)) {
    const wanted = wantedMagic !== undefined ? `magic ${describeMagic(wantedMagic)}` : `type ${expect.type ?? "any"} with ${expect.rank ?? "any number of"} dims`
    fail(`magic number ${describeMagic(magic)}`, wanted)
  }
  const headerBytes = 4 + 4 * rank
  if (bytes.length < headerBytes) fail(`only ${bytes.length} bytes`, `a ${headerBytes}-byte header for ${rank} dims`)
  const shape: number[] = []
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false))
  if (expect.dims !== undefined) {
    expect.dims.forEach((d, i) => {
      if (d !== undefined && shape[i] !== d) fail(`dims [${shape.join(", ")}]`, `dim ${i} to be ${d}`)
    })
  }
  const count = shape.reduce((a, b) => a * b, 1)
  const elementSize = TYPE_SIZES[type]
  const wantedLength = headerBytes + count * elementSize
  if (bytes.length !== wantedLength) {
    const what = bytes.length < wantedLength ? "truncated file" : "trailing bytes"
    fail(
      `${bytes.length} bytes (${what})`,
      `exactly ${wantedLength} bytes: a ${headerBytes}-byte header + ${count} ${type} elements for dims [${shape.join(", ")}]`,
    )
  }
  return { type, shape, data: decodeElements(view, headerBytes, count, type, bytes) }
}

function decodeElements(view: DataView, offset: number, count: number, type: IdxType, bytes: Uint8Array): IdxData {
  switch (type) {
    case "uint8":
      return bytes.subarray(offset, offset + count)
    case "int8":
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count)
    default: {
      // Wider types are big-endian in the file: decode element by element.
      const size = TYPE_SIZES[type]
      const out =
        type === "int16" ? new Int16Array(count) : type === "int32" ? new Int32Array(count) : type === "float32" ? new Float32Array(count) : new Float64Array(count)
      for (let i = 0, p = offset; i < count; i++, p += size) {
        out[i] =
          type === "int16"
            ? view.getInt16(p, false)
            : type === "int32"
              ? view.getInt32(p, false)
              : type === "float32"
                ? view.getFloat32(p, false)
                : view.getFloat64(p, false)
      }
      return out
    }
  }
}

/**
 * Encodes an array as IDX bytes (used by tests and to write small datasets).
 * Only `uint8` is needed for images and labels.
 */
export function encodeIdxUint8(data: Uint8Array, shape: readonly number[]): Uint8Array {
  const header = 4 + 4 * shape.length
  const out = new Uint8Array(header + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, idxMagic("uint8", shape.length), false)
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  out.set(data, header)
  return out
}
