/**
 * safetensors: the weights format of Hugging Face and PyTorch (`safetensors.torch.save_file`
 * / `load_file`), on bytes (browser-safe; files are `dagrad/node`'s job).
 *
 * Layout (https://github.com/huggingface/safetensors, "Format"):
 * ```
 *  0  uint64 LE  N, the byte length of the header
 *  8  N bytes    UTF-8 JSON: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *                              ..., "__metadata__": { "<key>": "<string>" } }   (optional)
 *                padded with spaces (0x20) so that the data starts 8-byte aligned
 *  8+N           the byte buffer: every tensor's raw little-endian, row-major elements;
 *                data_offsets are relative to its start
 * ```
 * Reading is strict, as the reference Rust reader is: the header length must fit the file,
 * the header must be a JSON object, every dtype a safetensors dtype name, every shape's
 * element count times the dtype's size equal to its byte range, and the ranges, sorted,
 * must tile the buffer exactly (no overlap, no hole, nothing past the end). Any violation
 * is a {@link FormatError} that names the file, the tensor and what was expected.
 *
 * Names are whatever the store uses. dagrad's module names already follow PyTorch's
 * `state_dict` convention (`conv1.weight`, `bn.running_mean`), so a `lenet5()` store saved
 * here loads with `model.load_state_dict(safetensors.torch.load_file(path))` into the
 * PyTorch module documented in docs/interop.md; `rename` maps other naming schemes.
 */
import { FormatError, showShape } from "../errors.ts"
import { allocate, type DType } from "../tensor/dtype.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** Every dtype name the safetensors format defines, with its size in bytes. */
export const SAFETENSORS_DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const

/** A safetensors dtype name (`F32`, `F64`, `I32`, ...). */
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPE_BYTES

/** One tensor's header entry, with its byte range within the data buffer. */
export interface SafetensorsEntry {
  readonly name: string
  readonly dtype: SafetensorsDType
  readonly shape: readonly number[]
  /** [begin, end) relative to the start of the data buffer. */
  readonly dataOffsets: readonly [number, number]
}

/** The parsed, validated layout of a safetensors file (no tensor data copied). */
export interface SafetensorsLayout {
  /** The header length N stored in the first 8 bytes. */
  readonly headerLength: number
  /** Where the data buffer starts in the file (8 + N). */
  readonly dataStart: number
  /** Entries in header order. */
  readonly entries: readonly SafetensorsEntry[]
  readonly metadata: { readonly [key: string]: string }
}

/** Tensors by name plus the file's string metadata. */
export interface Safetensors {
  readonly tensors: ReadonlyMap<string, Tensor>
  readonly metadata: { readonly [key: string]: string }
}

const TO_SAFETENSORS: { readonly [D in DType]: SafetensorsDType } = { float32: "F32", float64: "F64", int32: "I32" }
const FROM_SAFETENSORS: { readonly [S in SafetensorsDType]?: DType } = { F32: "float32", F64: "float64", I32: "int32" }
/** The reference reader's limit; a larger header is a corrupt length, not a real model. */
const MAX_HEADER_BYTES = 100_000_000

/** Options of {@link encodeSafetensors} (safetensors.torch.save's `metadata`, plus key renaming). */
export interface EncodeSafetensorsOptions {
  /** String metadata stored under `__metadata__` (e.g. `{ format: "pt" }`, which transformers expects). */
  readonly metadata?: { readonly [key: string]: string }
  /** Maps a store name to the key written in the file (default: the name itself). */
  readonly rename?: (name: string) => string
}

/**
 * Serialises named tensors as safetensors bytes. Tensors are laid out largest dtype first
 * (then in the store's order), and the header is padded to a multiple of 8, so every
 * tensor starts aligned to its element size, as the reference writer does.
 *
 * @example
 * const bytes = encodeSafetensors(initParameters(lenet5(), { seed: 1 }), { metadata: { format: "pt" } })
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, options: EncodeSafetensorsOptions = {}): Uint8Array {
  const rename = options.rename ?? ((n: string) => n)
  const items = [...tensors].map(([name, t], order) => ({ key: rename(name), t, order, dtype: TO_SAFETENSORS[t.dtype] }))
  const seen = new Set<string>()
  for (const it of items) {
    if (it.key === "__metadata__" || it.key.length === 0) throw new FormatError(`tensor name ${JSON.stringify(it.key)} (expected a non-empty name other than __metadata__)`)
    if (seen.has(it.key)) throw new FormatError(`two tensors are written as '${it.key}' (expected unique names after rename)`)
    seen.add(it.key)
  }
  items.sort((a, b) => SAFETENSORS_DTYPE_BYTES[b.dtype] - SAFETENSORS_DTYPE_BYTES[a.dtype] || a.order - b.order)
  const header: { [key: string]: unknown } = {}
  if (options.metadata !== undefined) {
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string") throw new FormatError(`metadata '${k}' = ${JSON.stringify(v)} (expected a string: safetensors metadata maps strings to strings)`)
    }
    header.__metadata__ = { ...options.metadata }
  }
  let offset = 0
  for (const it of items) {
    const byteLength = it.t.data.length * SAFETENSORS_DTYPE_BYTES[it.dtype]
    header[it.key] = { dtype: it.dtype, shape: [...it.t.shape], data_offsets: [offset, offset + byteLength] }
    offset += byteLength
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const headerLength = Math.ceil(json.length / 8) * 8
  const out = new Uint8Array(8 + headerLength + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + headerLength)
  const data = out.subarray(8 + headerLength)
  for (const it of items) {
    const begin = (header[it.key] as { data_offsets: number[] }).data_offsets[0]
    data.set(littleEndianBytes(it.t), begin)
  }
  return out
}

/** The tensor's elements as little-endian bytes (typed arrays are native-endian). */
function littleEndianBytes(t: Tensor): Uint8Array {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
  if (IS_LITTLE_ENDIAN) return raw
  const out = raw.slice()
  swapBytes(out, t.data.BYTES_PER_ELEMENT)
  return out
}

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Parses and strictly validates the header of safetensors bytes without copying data;
 * `file` names the source in error messages.
 *
 * @example
 * inspectSafetensors(bytes).entries.map((e) => `${e.name} ${e.dtype} ${e.shape}`)
 */
export function inspectSafetensors(bytes: Uint8Array, file = "<safetensors>"): SafetensorsLayout {
  const fail = (found: string, expected: string): never => {
    throw new FormatError(`${file}: found ${found}, expected ${expected}`)
  }
  if (bytes.length < 8) fail(`only ${bytes.length} bytes (truncated)`, "at least the 8-byte little-endian header length")
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true)
  if (n < 2n || n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail(`a header length of ${n} bytes in a ${bytes.length}-byte file`, `a length between 2 and ${Math.min(MAX_HEADER_BYTES, bytes.length - 8)} (the bytes after the 8-byte length; is the file truncated or not safetensors?)`)
  }
  const headerLength = Number(n)
  const dataStart = 8 + headerLength
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)))
  } catch (e) {
    return fail(`a header that is not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})`, `${headerLength} bytes of JSON`)
  }
  if (!isRecord(parsed)) return fail(`a header ${describe(parsed)}`, "a JSON object of tensor entries")
  const metadata: { [key: string]: string } = {}
  const entries: SafetensorsEntry[] = []
  for (const [name, raw] of Object.entries(parsed)) {
    if (name === "__metadata__") {
      if (!isRecord(raw)) fail(`__metadata__ ${describe(raw)}`, "an object of string values")
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== "string") fail(`__metadata__ '${k}' = ${JSON.stringify(v)}`, "a string (safetensors metadata maps strings to strings)")
        metadata[k] = v as string
      }
      continue
    }
    entries.push(checkEntry(name, raw, fail))
  }
  checkTiling(entries, bytes.length - dataStart, fail)
  return { headerLength, dataStart, entries, metadata }
}

function checkEntry(name: string, raw: unknown, fail: (found: string, expected: string) => never): SafetensorsEntry {
  const label = `tensor '${name}'`
  if (!isRecord(raw)) return fail(`${label} ${describe(raw)}`, `{ "dtype", "shape", "data_offsets" }`)
  const extra = Object.keys(raw).filter((k) => k !== "dtype" && k !== "shape" && k !== "data_offsets")
  if (extra.length > 0) fail(`${label} with unknown field(s) ${extra.join(", ")}`, `only "dtype", "shape" and "data_offsets"`)
  const { dtype, shape, data_offsets: offsets } = raw
  if (typeof dtype !== "string" || !Object.hasOwn(SAFETENSORS_DTYPE_BYTES, dtype)) {
    return fail(`${label} with dtype ${JSON.stringify(dtype)}`, `a safetensors dtype name (${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")})`)
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${label} with shape ${JSON.stringify(shape)}`, "an array of non-negative integers")
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]) {
    return fail(`${label} with data_offsets ${JSON.stringify(offsets)}`, "[begin, end] with 0 <= begin <= end")
  }
  const size = (shape as number[]).reduce((a, b) => a * b, 1)
  const itemBytes = SAFETENSORS_DTYPE_BYTES[dtype as SafetensorsDType]
  const byteLength = offsets[1] - offsets[0]
  if (size * itemBytes !== byteLength) {
    fail(`${label} spanning ${byteLength} bytes (data_offsets ${JSON.stringify(offsets)})`, `${size} elements x ${itemBytes} bytes = ${size * itemBytes} bytes for shape ${showShape(shape)} ${dtype}`)
  }
  return { name, dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], dataOffsets: [offsets[0], offsets[1]] }
}

/** The byte ranges, sorted, must cover [0, dataLength) exactly once. */
function checkTiling(entries: readonly SafetensorsEntry[], dataLength: number, fail: (found: string, expected: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1])
  let end = 0
  let previous: SafetensorsEntry | undefined
  for (const e of sorted) {
    const [b, f] = e.dataOffsets
    if (b < end) fail(`tensor '${e.name}' at bytes [${b}, ${f}) overlapping tensor '${previous?.name}' at [${previous?.dataOffsets.join(", ")})`, "non-overlapping data_offsets")
    if (b > end) fail(`a hole of ${b - end} bytes before tensor '${e.name}' (data_offsets [${b}, ${f}))`, `contiguous data_offsets: this tensor should begin at ${end}`)
    if (f > dataLength) fail(`tensor '${e.name}' at bytes [${b}, ${f}) past the end of the ${dataLength}-byte data buffer`, "data_offsets inside the file (is it truncated?)")
    end = f
    previous = e
  }
  if (end !== dataLength) fail(`${dataLength - end} bytes after the last tensor`, `a data buffer of exactly ${end} bytes (trailing bytes are not allowed)`)
}

/** Options of {@link decodeSafetensors}: a file name for errors and key renaming. */
export interface DecodeSafetensorsOptions {
  /** Names the file in error messages. */
  readonly file?: string
  /** Maps a key in the file to the store name (default: the key itself). */
  readonly rename?: (key: string) => string
}

/**
 * Parses safetensors bytes into tensors. F32, F64 and I32 load as is; I64 (PyTorch's
 * integer buffers such as batch norm's `num_batches_tracked`) loads as int32 when every
 * value fits; any other dtype is valid safetensors but not a dagrad dtype, a FormatError.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(bytes)
 */
export function decodeSafetensors(bytes: Uint8Array, options: DecodeSafetensorsOptions = {}): Safetensors {
  const file = options.file ?? "<safetensors>"
  const layout = inspectSafetensors(bytes, file)
  const rename = options.rename ?? ((k: string) => k)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const tensors = new Map<string, Tensor>()
  for (const e of layout.entries) {
    const name = rename(e.name)
    if (tensors.has(name)) throw new FormatError(`${file}: found two tensors named '${name}' after rename, expected unique names`)
    tensors.set(name, readTensor(view, layout.dataStart + e.dataOffsets[0], e, file))
  }
  return { tensors, metadata: layout.metadata }
}

function readTensor(view: DataView, start: number, e: SafetensorsEntry, file: string): Tensor {
  const size = e.shape.reduce((a, b) => a * b, 1)
  if (e.dtype === "I64") {
    const data = allocate("int32", size)
    for (let i = 0; i < size; i++) {
      const v = view.getBigInt64(start + 8 * i, true)
      if (v < -2147483648n || v > 2147483647n) throw new FormatError(`${file}: found tensor '${e.name}' I64 value ${v} at element ${i}, expected values that fit int32 (dagrad's integer dtype)`)
      data[i] = Number(v)
    }
    return { shape: [...e.shape], dtype: "int32", data }
  }
  const dtype = FROM_SAFETENSORS[e.dtype]
  if (dtype === undefined) throw new FormatError(`${file}: found tensor '${e.name}' of dtype ${e.dtype}, expected F32, F64, I32 or I64 (dagrad computes in float32/float64; convert with tensor.float() before saving)`)
  const data = allocate(dtype, size)
  // Copy bytes rather than read numbers, so NaN payloads survive bit for bit.
  const out = new Uint8Array(data.buffer)
  out.set(new Uint8Array(view.buffer, view.byteOffset + start, data.byteLength))
  if (!IS_LITTLE_ENDIAN) swapBytes(out, data.BYTES_PER_ELEMENT)
  return { shape: [...e.shape], dtype, data }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse()
}

function isRecord(v: unknown): v is { [key: string]: unknown } {
  return typeof v === "object" && v !== null && !Array.isArray(v)
}

function describe(v: unknown): string {
  return Array.isArray(v) ? "that is an array" : v === null ? "that is null" : `of type ${typeof v}`
}
