/**
 * Reading IDX files from disk (the parser is src/io/idx.ts). Files ending in `.gz` (or
 * starting with the gzip signature) are gunzipped first.
 */
import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { FormatError } from "../errors.ts"
import { parseIdx, type IdxArray, type IdxExpectation } from "../io/idx.ts"

export { encodeIdxUint8, idxMagic, parseIdx, type IdxArray, type IdxData, type IdxExpectation, type IdxType } from "../io/idx.ts"

/** Gunzips when the bytes carry the gzip signature (1f 8b), else returns them as they are. */
export function maybeGunzip(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes
  try {
    return gunzipSync(bytes)
  } catch (e) {
    throw new FormatError(`${name}: found a corrupt gzip stream (${e instanceof Error ? e.message : String(e)}), expected a gzipped IDX file`)
  }
}

/**
 * Reads and parses an IDX file (gzipped or not).
 *
 * @example
 * const images = readIdxFile("t10k-images-idx3-ubyte", { type: "uint8", rank: 3 })
 */
export function readIdxFile(path: string, expect: IdxExpectation = {}): IdxArray {
  let raw: Uint8Array
  try {
    raw = readFileSync(path)
  } catch (e) {
    throw new FormatError(`${path}: cannot read the file (${e instanceof Error ? e.message : String(e)}), expected an IDX file`)
  }
  return parseIdx(maybeGunzip(raw, path), path, expect)
}
