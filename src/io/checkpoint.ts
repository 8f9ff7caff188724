/**
 * Checkpoint files: named tensors plus JSON metadata, validated on read and written
 * atomically.
 *
 * Layout (little-endian):
 * ```
 *  0  8 bytes  magic "DAGRADCK"
 *  8  uint32   format version (1)
 * 12  uint32   header length H (bytes of UTF-8 JSON)
 * 16  uint64   payload length P
 * 24  uint32   CRC-32 of the header
 * 28  uint32   CRC-32 of the payload
 * 32  H bytes  header JSON: { tensors: [{ name, dtype, shape, offset, byteLength }], meta }
 *     padding to a multiple of 8
 *     P bytes  payload: every tensor's elements, each 8-byte aligned
 * ```
 * Reading checks every field (magic, version, lengths, both checksums, each tensor's
 * dtype, shape and byte range), so a truncated, corrupt or foreign file is a FormatError
 * that names the file and what was wrong, never a model with garbage weights.
 *
 * This module works on bytes only (browser-safe); reading and writing files, atomically,
 * is `dagrad/node`'s saveCheckpoint/loadCheckpoint.
 */
import { FormatError, showShape } from "../errors.ts"
import { allocate, isDType, type DType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { tensorProblem } from "../tensor/validate.ts"

const MAGIC = "DAGRADCK"
const VERSION = 1
const PREFIX_BYTES = 32

/** Any JSON value (checkpoint metadata). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue }

/** What a checkpoint holds: tensors by name and free-form JSON metadata. */
export interface Checkpoint<M extends JsonValue = JsonValue> {
  readonly tensors: ReadonlyMap<string, Tensor>
  readonly meta: M
}

interface TensorEntry {
  readonly name: string
  readonly dtype: DType
  readonly shape: readonly number[]
  readonly offset: number
  readonly byteLength: number
}

const BYTES: { readonly [D in DType]: number } = { float32: 4, float64: 8, int32: 4 }

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial 0xEDB88320, reflected).
 *
 * @example
 * crc32(new TextEncoder().encode("123456789")) // 0xcbf43926
 */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8

/**
 * Serialises a checkpoint to bytes (see the file comment for the layout). Every tensor is
 * checked first (typed-array class = dtype, length = shape), so a bad tensor is a
 * FormatError before any byte exists and can never atomically replace a good file.
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  for (const [name, t] of checkpoint.tensors) {
    const problem = tensorProblem(t)
    if (problem !== undefined) throw new FormatError(`cannot save tensor '${name}': ${problem} (expected a tensor whose data matches its dtype and shape)`)
  }
  const metaProblem = jsonProblem(checkpoint.meta, "meta")
  if (metaProblem !== undefined) throw new FormatError(`cannot save the checkpoint: ${metaProblem} (expected JSON: finite numbers, strings, booleans, null, arrays and plain objects)`)
  const entries: TensorEntry[] = []
  let payloadLength = 0
  for (const [name, t] of checkpoint.tensors) {
    const byteLength = t.data.length * BYTES[t.dtype]
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset: payloadLength, byteLength })
    payloadLength = align8(payloadLength + byteLength)
  }
  const header = new TextEncoder().encode(JSON.stringify({ tensors: entries, meta: checkpoint.meta }))
  const payloadStart = align8(PREFIX_BYTES + header.length)
  const out = new Uint8Array(payloadStart + payloadLength)
  const view = new DataView(out.buffer)
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, header.length, true)
  view.setBigUint64(16, BigInt(payloadLength), true)
  out.set(header, PREFIX_BYTES)
  const payload = out.subarray(payloadStart)
  const values = [...checkpoint.tensors.values()]
  entries.forEach((e, i) => {
    const t = values[i]
    // Typed arrays are little-endian on every platform Node runs on; write them as is.
    payload.set(new Uint8Array(t.data.buffer, t.data.byteOffset, e.byteLength), e.offset)
  })
  view.setUint32(24, crc32(header), true)
  view.setUint32(28, crc32(payload), true)
  return out
}

/**
 * Where a value is not JSON that survives a round trip, or undefined: JSON.stringify would
 * turn NaN and Infinity into null and drop undefined (the file would load as other values)
 * and throws a TypeError on a BigInt.
 */
function jsonProblem(v: unknown, path: string): string | undefined {
  if (v === null || typeof v === "string" || typeof v === "boolean") return undefined
  if (typeof v === "number") return Number.isFinite(v) ? undefined : `${path} is ${v}`
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = jsonProblem(v[i], `${path}[${i}]`)
      if (p !== undefined) return p
    }
    return undefined
  }
  if (typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const [k, x] of Object.entries(v)) {
      const p = jsonProblem(x, `${path}.${k}`)
      if (p !== undefined) return p
    }
    return undefined
  }
  return `${path} is ${v === undefined ? "undefined" : typeof v === "object" ? `a ${(v as object).constructor?.name ?? "non-plain object"}` : `a ${typeof v}`}`
}

/** Parses and validates checkpoint bytes; `name` (a path) is used in error messages. */
export function decodeCheckpoint(bytes: Uint8Array, name = "<checkpoint>"): Checkpoint {
  const fail = (found: string, expected: string): never => {
    throw new FormatError(`${name}: found ${found}, expected ${expected}`)
  }
  if (bytes.length < PREFIX_BYTES) fail(`only ${bytes.length} bytes (truncated)`, `at least the ${PREFIX_BYTES}-byte dagrad checkpoint header`)
  const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length))
  if (magic !== MAGIC) fail(`magic ${JSON.stringify(magic)}`, `a dagrad checkpoint starting with "${MAGIC}"`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint32(8, true)
  if (version !== VERSION) fail(`format version ${version}`, `version ${VERSION}`)
  const headerLength = view.getUint32(12, true)
  const payloadLength = Number(view.getBigUint64(16, true))
  const payloadStart = align8(PREFIX_BYTES + headerLength)
  const total = payloadStart + payloadLength
  if (bytes.length !== total) {
    fail(`${bytes.length} bytes${bytes.length < total ? " (truncated)" : " (trailing bytes)"}`, `exactly ${total} bytes (header ${headerLength}, payload ${payloadLength})`)
  }
  const header = bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength)
  const payload = bytes.subarray(payloadStart, total)
  // the padding after the header is the one region no checksum covers: it must be zeros
  for (let i = PREFIX_BYTES + headerLength; i < payloadStart; i++) {
    if (bytes[i] !== 0) fail(`a non-zero byte ${bytes[i]} in the padding after the header (offset ${i})`, "zero padding (the file is corrupt)")
  }
  const headerCrc = crc32(header)
  if (headerCrc !== view.getUint32(24, true)) fail(`header CRC-32 ${hex(headerCrc)}`, `${hex(view.getUint32(24, true))} (the header is corrupt)`)
  const payloadCrc = crc32(payload)
  if (payloadCrc !== view.getUint32(28, true)) fail(`payload CRC-32 ${hex(payloadCrc)}`, `${hex(view.getUint32(28, true))} (the tensor data is corrupt)`)

  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(header))
  } catch (e) {
    return fail(`an unreadable header (${e instanceof Error ? e.message : String(e)})`, "JSON metadata")
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.tensors) || !("meta" in parsed)) fail("a header without 'tensors' and 'meta'", "{ tensors: [...], meta }")
  const record = parsed as { tensors: unknown[]; meta: JsonValue }
  const tensors = new Map<string, Tensor>()
  for (const raw of record.tensors) {
    const e = checkEntry(raw, payloadLength, fail)
    if (tensors.has(e.name)) fail(`tensor '${e.name}' twice`, "unique tensor names")
    const data = allocate(e.dtype, e.byteLength / BYTES[e.dtype])
    new Uint8Array(data.buffer).set(payload.subarray(e.offset, e.offset + e.byteLength))
    tensors.set(e.name, { shape: e.shape, dtype: e.dtype, data })
  }
  return { tensors, meta: record.meta }
}

function checkEntry(raw: unknown, payloadLength: number, fail: (found: string, expected: string) => never): TensorEntry {
  if (!isRecord(raw)) return fail(`tensor entry ${JSON.stringify(raw)}`, "{ name, dtype, shape, offset, byteLength }")
  const { name, dtype, shape, offset, byteLength } = raw
  const label = `tensor '${String(name)}'`
  if (typeof name !== "string") fail(`a tensor name ${JSON.stringify(name)}`, "a string")
  if (typeof dtype !== "string" || !isDType(dtype)) return fail(`${label} with dtype ${JSON.stringify(dtype)}`, "float32, float64 or int32")
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) return fail(`${label} with shape ${JSON.stringify(shape)}`, "an array of non-negative integers")
  const size = (shape as number[]).reduce((a, b) => a * b, 1)
  if (byteLength !== size * BYTES[dtype]) fail(`${label} of ${String(byteLength)} bytes`, `${size * BYTES[dtype]} bytes for shape ${showShape(shape)} ${dtype}`)
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset % 8 !== 0 || offset < 0 || offset + size * BYTES[dtype] > payloadLength) {
    fail(`${label} at offset ${String(offset)}`, `an 8-aligned range inside the ${payloadLength}-byte payload`)
  }
  return { name: name as string, dtype, shape: shape as number[], offset: offset as number, byteLength: size * BYTES[dtype] }
}

function isRecord(v: unknown): v is { [key: string]: unknown } {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0")
}

/**
 * Checks that a checkpoint has exactly the tensors a model expects, with the same shapes
 * and dtypes, so loading LeNet weights into an MLP (or a stale file) is a clear error.
 */
export function checkTensorsMatch(
  tensors: ReadonlyMap<string, Tensor>,
  expected: ReadonlyMap<string, { readonly shape: readonly number[]; readonly dtype: DType }>,
  file: string,
  what = "parameter",
): void {
  for (const [name, spec] of expected) {
    const t = tensors.get(name)
    if (t === undefined) throw new FormatError(`${file}: found no ${what} '${name}', expected ${showShape(spec.shape)} ${spec.dtype} (is it a checkpoint of another model?)`)
    if (t.dtype !== spec.dtype || t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new FormatError(`${file}: found ${what} '${name}' ${showShape(t.shape)} ${t.dtype}, expected ${showShape(spec.shape)} ${spec.dtype}`)
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name)) throw new FormatError(`${file}: found an unexpected ${what} '${name}', expected only ${[...expected.keys()].join(", ")}`)
  }
}
