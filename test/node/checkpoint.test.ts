import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { formatErrorOf } from "./helpers.ts"
import { checkTensorsMatch, crc32, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from "../../src/node/checkpoint.ts"
import { tensor } from "../../src/tensor/tensor.ts"

function sample(epoch = 3): Checkpoint {
  return {
    tensors: new Map([
      ["conv1.weight", tensor([0.5, -1.25, 3e-8], [3, 1], "float32")],
      ["fc.bias", tensor([Math.PI, -0], [2], "float64")],
      ["optim/step", tensor([7], [], "int32")],
    ]),
    meta: { epoch, seed: 42, rngState: [1, 2, 3, 4], model: { name: "mlp" }, metrics: [{ epoch: 1, testAccuracy: 0.9 }] },
  }
}

const tmp = (): string => mkdtempSync(join(tmpdir(), "dagrad-ck-"))

describe("checkpoint format", () => {
  it("crc32 matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926)
    expect(crc32(new Uint8Array(0))).toBe(0)
  })

  it("round-trips tensors bit for bit and metadata exactly", () => {
    const ck = sample()
    const back = decodeCheckpoint(encodeCheckpoint(ck))
    expect(back.meta).toEqual(ck.meta)
    expect([...back.tensors.keys()]).toEqual([...ck.tensors.keys()])
    for (const [name, t] of ck.tensors) {
      const u = back.tensors.get(name)!
      expect(u.dtype).toBe(t.dtype)
      expect(u.shape).toEqual(t.shape)
      expect(new Uint8Array(u.data.buffer)).toEqual(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    }
    expect(Object.is(back.tensors.get("fc.bias")!.data[1], -0)).toBe(true)
  })

  it("saves and loads through a file", () => {
    const path = join(tmp(), "ck.dgck")
    saveCheckpoint(path, sample())
    expect(loadCheckpoint(path).meta).toEqual(sample().meta)
  })

  it("rejects truncated files, flipped bits, foreign files and trailing bytes", () => {
    const bytes = encodeCheckpoint(sample())
    expect(formatErrorOf(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 3), "x.dgck")).message).toMatch(/^x\.dgck: found \d+ bytes \(truncated\), expected exactly/)
    expect(formatErrorOf(() => decodeCheckpoint(bytes.subarray(0, 10), "x")).message).toContain("(truncated)")
    const flipped = bytes.slice()
    flipped[flipped.length - 5] ^= 0x10
    expect(formatErrorOf(() => decodeCheckpoint(flipped, "x")).message).toContain("tensor data is corrupt")
    const badHeader = bytes.slice()
    badHeader[40] ^= 0x01
    expect(formatErrorOf(() => decodeCheckpoint(badHeader, "x")).message).toContain("header is corrupt")
    expect(formatErrorOf(() => decodeCheckpoint(new TextEncoder().encode("{\"not\": \"a checkpoint\"} padding padding"), "y.json")).message).toContain(
      'expected a dagrad checkpoint starting with "DAGRADCK"',
    )
    expect(formatErrorOf(() => decodeCheckpoint(Uint8Array.from([...bytes, 0]), "x")).message).toContain("trailing bytes")
    const v2 = bytes.slice()
    v2[8] = 2
    expect(formatErrorOf(() => decodeCheckpoint(v2, "x")).message).toContain("found format version 2, expected version 1")
  })

  it("reports a missing file as a FormatError", () => {
    expect(formatErrorOf(() => loadCheckpoint(join(tmp(), "nope.dgck"))).message).toContain("cannot read the file")
  })

  it("checks tensors against a model's expected shapes", () => {
    const params = sample().tensors
    const expected = new Map([
      ["conv1.weight", { shape: [3, 1], dtype: "float32" as const }],
      ["fc.bias", { shape: [2], dtype: "float64" as const }],
      ["optim/step", { shape: [], dtype: "int32" as const }],
    ])
    checkTensorsMatch(params, expected, "f")
    expected.set("conv1.weight", { shape: [6, 1], dtype: "float32" })
    expect(formatErrorOf(() => checkTensorsMatch(params, expected, "f")).message).toContain("found parameter 'conv1.weight' [3, 1] float32, expected [6, 1] float32")
    expected.set("fc2.weight", { shape: [1], dtype: "float32" })
    expected.set("conv1.weight", { shape: [3, 1], dtype: "float32" })
    expect(formatErrorOf(() => checkTensorsMatch(params, expected, "f")).message).toContain("found no parameter 'fc2.weight'")
  })
})

describe("atomic checkpoint writes", () => {
  it("a write interrupted before the rename leaves the previous checkpoint intact and no temp file", () => {
    const dir = tmp()
    const path = join(dir, "checkpoint.dgck")
    saveCheckpoint(path, sample(1))
    const before = readFileSync(path)
    expect(() =>
      saveCheckpoint(path, sample(2), {
        rename: () => {
          throw new Error("simulated crash before rename")
        },
      }),
    ).toThrow("simulated crash")
    expect(readFileSync(path)).toEqual(before)
    expect(loadCheckpoint(path).meta).toMatchObject({ epoch: 1 })
    expect(readdirSync(dir)).toEqual(["checkpoint.dgck"])
  })

  it("a temp file left by a killed writer does not affect the checkpoint", () => {
    const dir = tmp()
    const path = join(dir, "checkpoint.dgck")
    saveCheckpoint(path, sample(1))
    // What a kill -9 mid-write leaves behind: half a temp file next to the real one.
    const half = encodeCheckpoint(sample(2))
    writeFileSync(join(dir, ".checkpoint.dgck.123.abc.tmp"), half.subarray(0, half.length >> 1))
    expect(loadCheckpoint(path).meta).toMatchObject({ epoch: 1 })
    saveCheckpoint(path, sample(2))
    expect(loadCheckpoint(path).meta).toMatchObject({ epoch: 2 })
    expect(existsSync(path)).toBe(true)
  })
})
