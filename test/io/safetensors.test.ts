import { describe, expect, it } from "vitest"
import { FormatError } from "../../src/errors.ts"
import { decodeSafetensors, encodeSafetensors, inspectSafetensors } from "../../src/io/safetensors.ts"
import { lenet5 } from "../../src/nn/models.ts"
import { initParameters, namedParameters } from "../../src/nn/module.ts"
import { tensor, type Tensor } from "../../src/tensor/tensor.ts"

/**
 * An independent reader of the safetensors spec, written from the format description
 * (not from src/io/safetensors.ts): 8-byte LE header length, JSON header padded with
 * spaces to 8 bytes, entries {dtype, shape, data_offsets} tiling the buffer, each entry
 * aligned to its element size.
 */
function strictValidate(bytes: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; dataStart: number } {
  const sizes: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true))
  expect(n % 8, "header length is a multiple of 8").toBe(0)
  expect(8 + n).toBeLessThanOrEqual(bytes.length)
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n))
  expect(text.startsWith("{")).toBe(true)
  expect(/^[^ ]*\} *$/.test(text.replace(/"[^"]*"/g, "\"\"")), "only trailing spaces pad the header").toBe(true)
  const header = JSON.parse(text) as Record<string, unknown>
  const ranges: [number, number][] = []
  const entries: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {}
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const v of Object.values(raw as object)) expect(typeof v).toBe("string")
      continue
    }
    const e = raw as { dtype: string; shape: number[]; data_offsets: [number, number] }
    expect(Object.keys(e).sort()).toEqual(["data_offsets", "dtype", "shape"])
    expect(sizes[e.dtype], `dtype ${e.dtype}`).toBeDefined()
    const count = e.shape.reduce((a, b) => a * b, 1)
    expect(e.data_offsets[1] - e.data_offsets[0]).toBe(count * sizes[e.dtype])
    expect((8 + n + e.data_offsets[0]) % sizes[e.dtype], `${name} aligned to its element size`).toBe(0)
    ranges.push(e.data_offsets)
    entries[name] = e
  }
  ranges.sort((a, b) => a[0] - b[0])
  let end = 0
  for (const [b, f] of ranges) {
    expect(b).toBe(end)
    end = f
  }
  expect(8 + n + end).toBe(bytes.length)
  return { header: entries, dataStart: 8 + n }
}

const bitsOf = (t: Tensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)

/** Writes a safetensors file by hand: header object (serialised as given) + data, to build bad files. */
function handmade(header: unknown, data: Uint8Array, headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

describe("safetensors", () => {
  it("writes the exact bytes of the spec for a hand-worked file", () => {
    const bytes = encodeSafetensors(new Map([["a", tensor([1, -2], [2], "float32")]]))
    const json = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' // 54 bytes, padded to 56 with two spaces
    expect(json.length).toBe(54)
    const expected = new Uint8Array(8 + 56 + 8)
    expected[0] = 56
    expected.set(new TextEncoder().encode(json + "  "), 8)
    // 1.0f = 0x3f800000, -2.0f = 0xc0000000, little-endian
    expected.set([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], 64)
    expect(Array.from(bytes)).toEqual(Array.from(expected))
  })

  it("a LeNet-5 store passes the strict validator with state_dict names and round-trips bit for bit", () => {
    const store = initParameters(lenet5(), { seed: 3 })
    // NaN with a payload, -0 and subnormals must survive unchanged.
    const w = store.get("fc3.bias")!.data as Float32Array
    new Uint32Array(w.buffer, w.byteOffset, w.length).set([0x7fc00123, 0x80000000, 0x00000001])
    store.set("extra.f64", tensor([Math.PI, -0, 1e-310], [3], "float64"))
    store.set("extra.i32", tensor([-5, 2147483647], [2], "int32"))
    const bytes = encodeSafetensors(store, { metadata: { format: "pt" } })
    const { header } = strictValidate(bytes)
    expect(Object.keys(header).sort()).toEqual([...namedParameters(lenet5()).map((p) => p.name), "extra.f64", "extra.i32"].sort())
    expect(header["conv1.weight"]).toMatchObject({ dtype: "F32", shape: [6, 1, 5, 5] })
    expect(header["fc1.weight"]).toMatchObject({ dtype: "F32", shape: [120, 400] })
    expect(header["extra.f64"].dtype).toBe("F64")
    expect(header["extra.i32"].dtype).toBe("I32")
    const back = decodeSafetensors(bytes)
    expect(back.metadata).toEqual({ format: "pt" })
    expect([...back.tensors.keys()].sort()).toEqual([...store.keys()].sort())
    for (const [name, t] of store) {
      const r = back.tensors.get(name)!
      expect(r.dtype, name).toBe(t.dtype)
      expect(r.shape, name).toEqual(t.shape)
      expect(Buffer.from(bitsOf(r)).equals(Buffer.from(bitsOf(t))), name).toBe(true)
    }
  })

  it("reads I64 (PyTorch's num_batches_tracked) as int32 and renames keys", () => {
    const data = new Uint8Array(8)
    new DataView(data.buffer).setBigInt64(0, 7n, true)
    const bytes = handmade({ "bn.num_batches_tracked": { dtype: "I64", shape: [], data_offsets: [0, 8] } }, data)
    const { tensors } = decodeSafetensors(bytes, { rename: (k) => `model.${k}` })
    expect(tensors.get("model.bn.num_batches_tracked")).toEqual({ shape: [], dtype: "int32", data: new Int32Array([7]) })
  })

  const entry = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets })
  const bad: [string, () => Uint8Array, RegExp][] = [
    ["fewer than 8 bytes", () => new Uint8Array(5), /only 5 bytes \(truncated\)/],
    ["a header length past the end", () => handmade({ a: entry("F32", [1], [0, 4]) }, new Uint8Array(4), 1000), /header length of 1000 bytes in a 66-byte file/],
    ["a header length that cuts the JSON", () => handmade({ a: entry("F32", [1], [0, 4]) }, new Uint8Array(4), 20), /not UTF-8 JSON/],
    ["a truncated data buffer", () => handmade({ a: entry("F32", [4], [0, 16]) }, new Uint8Array(8)), /tensor 'a' at bytes \[0, 16\) past the end of the 8-byte data buffer/],
    ["overlapping offsets", () => handmade({ a: entry("F32", [2], [0, 8]), b: entry("F32", [2], [4, 12]) }, new Uint8Array(12)), /tensor 'b' at bytes \[4, 12\) overlapping tensor 'a'/],
    ["a hole between tensors", () => handmade({ a: entry("F32", [1], [0, 4]), b: entry("F32", [1], [8, 12]) }, new Uint8Array(12)), /hole of 4 bytes before tensor 'b'/],
    ["trailing bytes", () => handmade({ a: entry("F32", [1], [0, 4]) }, new Uint8Array(12)), /8 bytes after the last tensor/],
    ["an unknown dtype", () => handmade({ a: entry("F128", [1], [0, 16]) }, new Uint8Array(16)), /tensor 'a' with dtype "F128", expected a safetensors dtype name \(BOOL, U8/],
    ["shape x itemsize != byte length", () => handmade({ a: entry("F32", [3], [0, 8]) }, new Uint8Array(8)), /tensor 'a' spanning 8 bytes .* expected 3 elements x 4 bytes = 12 bytes for shape \[3\] F32/],
    ["reversed offsets", () => handmade({ a: entry("F32", [0], [4, 0]) }, new Uint8Array(4)), /data_offsets \[4,0\], expected \[begin, end\]/],
    ["a non-string metadata value", () => handmade({ __metadata__: { epochs: 3 } }, new Uint8Array(0)), /__metadata__ 'epochs' = 3, expected a string/],
    ["a header that is an array", () => handmade([1, 2], new Uint8Array(0)), /a header that is an array, expected a JSON object/],
    ["a valid but non-dagrad dtype", () => handmade({ h: entry("F16", [2], [0, 4]) }, new Uint8Array(4)), /tensor 'h' of dtype F16, expected F32, F64, I32 or I64/],
  ]
  for (const [what, make, message] of bad) {
    it(`rejects ${what} with a FormatError naming the problem`, () => {
      const read = () => decodeSafetensors(make(), { file: "w.safetensors" })
      expect(read).toThrow(FormatError)
      expect(read).toThrow(/^w\.safetensors: found /)
      expect(read).toThrow(message)
    })
  }

  it("validates the layout without decoding", () => {
    const bytes = encodeSafetensors(new Map([["x", tensor([1, 2, 3], [3], "float64")], ["y", tensor([1], [1], "float32")]]))
    const layout = inspectSafetensors(bytes)
    expect(layout.entries.map((e) => [e.name, e.dtype, e.dataOffsets])).toEqual([
      ["x", "F64", [0, 24]],
      ["y", "F32", [24, 28]],
    ])
    expect(layout.dataStart % 8).toBe(0)
  })
})
