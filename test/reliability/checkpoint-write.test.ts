// Class 1 of issue 18: a checkpoint write validates every tensor before any byte is made,
// so a bad tensor can never atomically replace a good file; stray temp files of killed
// writers are removed by the next successful save of the same target.
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { formatErrorOf } from "../node/helpers.ts"
import { encodeCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from "../../src/node/checkpoint.ts"
import { tensor } from "../../src/tensor/tensor.ts"
import type { Tensor } from "../../src/tensor/tensor.ts"

const good = (epoch: number): Checkpoint => ({ tensors: new Map([["w", tensor([1, 2, 3, 4], [2, 2])]]), meta: { epoch } })
const withTensor = (t: unknown): Checkpoint => ({ tensors: new Map([["w", t as Tensor]]), meta: { epoch: 2 } })
const tmp = (): string => mkdtempSync(join(tmpdir(), "dagrad-rel-"))

/** A pid that no process has any more: a child that has already exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!
}

describe("checkpoint writes validate before writing", () => {
  const bad: [string, unknown, RegExp][] = [
    ["a Float64Array labelled float32", { shape: [2, 2], dtype: "float32", data: new Float64Array(4) }, /tensor 'w': dtype float32 is stored in a Float32Array but the data is Float64Array/],
    ["data shorter than the shape", { shape: [2, 2], dtype: "float32", data: new Float32Array(3) }, /tensor 'w': shape \[2, 2\] needs 4 elements but the data holds 3/],
    ["data longer than the shape", { shape: [2], dtype: "int32", data: new Int32Array(3) }, /needs 2 elements but the data holds 3/],
    ["an unknown dtype", { shape: [1], dtype: "float16", data: new Float32Array(1) }, /dtype "float16" is not one of/],
    ["a negative dimension", { shape: [-1], dtype: "float32", data: new Float32Array(1) }, /shape \[-1\] is not an array of non-negative integers/],
    ["null", null, /got null/],
  ]
  for (const [what, t, message] of bad) {
    it(`encodeCheckpoint rejects ${what}`, () => {
      expect(formatErrorOf(() => encodeCheckpoint(withTensor(t))).message).toMatch(message)
    })
  }

  it("a rejected save leaves the previous checkpoint byte-identical and no temp file", () => {
    const dir = tmp()
    const path = join(dir, "ck.dgck")
    saveCheckpoint(path, good(1))
    const before = readFileSync(path)
    formatErrorOf(() => saveCheckpoint(path, withTensor({ shape: [2, 2], dtype: "float32", data: new Float64Array(4) })))
    expect(readFileSync(path)).toEqual(before)
    expect(readdirSync(dir)).toEqual(["ck.dgck"])
    expect(loadCheckpoint(path).meta).toEqual({ epoch: 1 })
  })
})

describe("stray temp files", () => {
  it("the next successful save removes temps of dead writers of the same target only", () => {
    const dir = tmp()
    const path = join(dir, "ck.dgck")
    saveCheckpoint(path, good(1))
    const dead = deadPid()
    const stray = `.ck.dgck.${dead}.lq2x1.tmp`
    const otherTarget = `.other.dgck.${dead}.lq2x1.tmp`
    const liveWriter = `.ck.dgck.${process.ppid}.lq2x1.tmp`
    for (const f of [stray, otherTarget, liveWriter]) writeFileSync(join(dir, f), "half a checkpoint")
    saveCheckpoint(path, good(2))
    expect(readdirSync(dir).sort()).toEqual([liveWriter, otherTarget, "ck.dgck"].sort())
    expect(loadCheckpoint(path).meta).toEqual({ epoch: 2 })
  })

  it("a failed save does not remove anything", () => {
    const dir = tmp()
    const path = join(dir, "ck.dgck")
    saveCheckpoint(path, good(1))
    const stray = `.ck.dgck.${deadPid()}.lq2x1.tmp`
    writeFileSync(join(dir, stray), "half")
    expect(() => saveCheckpoint(path, good(2), { rename: () => { throw new Error("rename failed") } })).toThrow("rename failed")
    expect(readdirSync(dir).sort()).toEqual([stray, "ck.dgck"].sort())
  })
})

describe("checkpoint metadata must survive a JSON round trip", () => {
  const withMeta = (meta: unknown): Checkpoint => ({ tensors: new Map(), meta: meta as Checkpoint["meta"] })
  it("NaN, Infinity, undefined, BigInt and class instances are FormatErrors naming the path", () => {
    expect(formatErrorOf(() => encodeCheckpoint(withMeta({ lr: NaN }))).message).toContain("cannot save the checkpoint: meta.lr is NaN")
    expect(formatErrorOf(() => encodeCheckpoint(withMeta({ curve: [1, Infinity] }))).message).toContain("meta.curve[1] is Infinity")
    expect(formatErrorOf(() => encodeCheckpoint(withMeta({ a: undefined }))).message).toContain("meta.a is undefined")
    expect(formatErrorOf(() => encodeCheckpoint(withMeta({ step: 1n }))).message).toContain("meta.step is a bigint")
    expect(formatErrorOf(() => encodeCheckpoint(withMeta({ when: new Date(0) }))).message).toContain("meta.when is a Date")
  })
  it("plain JSON metadata still round-trips", () => {
    const meta = { epoch: 3, name: "x", ok: true, none: null, list: [1, [2, { a: -0.5 }]] }
    expect(loadCheckpointBytes(encodeCheckpoint(withMeta(meta)))).toEqual(meta)
  })
})

function loadCheckpointBytes(bytes: Uint8Array): unknown {
  const dir = tmp()
  writeFileSync(join(dir, "m.dgck"), bytes)
  return loadCheckpoint(join(dir, "m.dgck")).meta
}
