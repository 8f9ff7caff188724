// File faults: a checkpoint truncated at every length and with every single bit flipped is
// a FormatError (never a model with wrong weights); a writer killed with SIGKILL in the
// middle of a large save, or whose rename fails, leaves the previous checkpoint loadable;
// the next successful save leaves no temp file behind.
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { FormatError } from "../../src/errors.ts"
import { decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from "../../src/node/checkpoint.ts"
import { tensor } from "../../src/tensor/tensor.ts"
import { fuzzing } from "./config.ts"

const small = (): Checkpoint => ({
  tensors: new Map([
    ["w", tensor([0.5, -1.25, 3], [3], "float32")],
    ["b", tensor([Math.PI], [1], "float64")],
    ["step", tensor([7], [], "int32")],
  ]),
  meta: { epoch: 3, seed: 1 },
})
const tmp = (): string => mkdtempSync(join(tmpdir(), "dagrad-fault-"))

function expectFormatError(f: () => unknown, what: string): void {
  try {
    f()
  } catch (e) {
    if (e instanceof FormatError) return
    throw new Error(`${what}: threw ${String(e)} (expected a FormatError)`)
  }
  throw new Error(`${what}: decoded without an error (expected a FormatError)`)
}

describe("file faults: corrupted bytes", () => {
  const bytes = encodeCheckpoint(small())

  it(`truncation at every one of the ${bytes.length} shorter lengths is a FormatError`, () => {
    for (let n = 0; n < bytes.length; n++) expectFormatError(() => decodeCheckpoint(bytes.subarray(0, n)), `truncated to ${n} bytes`)
  })

  it(`every single-bit flip of a ${bytes.length}-byte checkpoint is a FormatError`, () => {
    const flipped = bytes.slice()
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        flipped[i] ^= 1 << bit
        expectFormatError(() => decodeCheckpoint(flipped), `bit ${bit} of byte ${i} flipped`)
        flipped[i] ^= 1 << bit
      }
    }
  })

  it("truncated files on disk are FormatErrors naming the file", () => {
    const path = join(tmp(), "ck.dgck")
    writeFileSync(path, bytes.subarray(0, bytes.length >> 1))
    expect(() => loadCheckpoint(path)).toThrow(new RegExp(`${path.replace(/[.]/g, "\\.")}: found \\d+ bytes \\(truncated\\)`))
  })
})

/** Starts the save loop in a child process; resolves once it has begun its first save. */
function startSaving(path: string, elements: number): Promise<{ kill: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "save-loop.ts"), path, String(elements)], { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""
  return new Promise((resolve, reject) => {
    child.once("error", reject)
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (out.includes("saving")) {
        resolve({
          kill: () =>
            new Promise((done) => {
              child.once("exit", () => done())
              child.kill("SIGKILL")
            }),
        })
      }
    })
  })
}

describe("file faults: interrupted writers", () => {
  const kills = fuzzing ? 12 : 2
  it(`a writer killed with SIGKILL mid-save (${kills} kills at random moments) leaves a loadable checkpoint; the next save removes its temp file`, async () => {
    const dir = tmp()
    const path = join(dir, "ck.dgck")
    const elements = 4_000_000 // 16 MB: a save takes long enough to be interrupted inside
    saveCheckpoint(path, { tensors: new Map([["w", tensor(new Float32Array(elements), [elements])]]), meta: { epoch: 0 } })
    let interruptedInside = 0
    for (let k = 0; k < kills; k++) {
      const writer = await startSaving(path, elements)
      await new Promise((r) => setTimeout(r, Math.random() * 150))
      await writer.kill()
      const ck = loadCheckpoint(path) // always loadable: the previous save or a completed new one
      const epoch = (ck.meta as { epoch: number }).epoch
      expect([0, 1]).toContain(epoch)
      const w = ck.tensors.get("w")!
      expect(w.data[0]).toBe(epoch)
      expect(w.data[elements - 1]).toBe(epoch)
      if (readdirSync(dir).some((f) => f.endsWith(".tmp"))) interruptedInside++
      saveCheckpoint(path, { tensors: new Map([["w", tensor(new Float32Array(elements), [elements])]]), meta: { epoch: 0 } })
      expect(readdirSync(dir)).toEqual(["ck.dgck"])
    }
    console.log(`kill -9: ${interruptedInside} of ${kills} kills landed inside a save (temp file left, then removed)`)
  }, 120_000)

  it("a failed rename leaves the previous checkpoint and no temp; the next save succeeds", () => {
    const dir = tmp()
    const path = join(dir, "ck.dgck")
    saveCheckpoint(path, small())
    expect(() => saveCheckpoint(path, { ...small(), meta: { epoch: 4 } }, { rename: () => { throw new Error("EXDEV: rename failed") } })).toThrow("rename failed")
    expect(loadCheckpoint(path).meta).toEqual({ epoch: 3, seed: 1 })
    expect(readdirSync(dir)).toEqual(["ck.dgck"])
    saveCheckpoint(path, { ...small(), meta: { epoch: 4 } })
    expect(loadCheckpoint(path).meta).toEqual({ epoch: 4 })
    expect(readdirSync(dir)).toEqual(["ck.dgck"])
  })
})
