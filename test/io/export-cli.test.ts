import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { buildModelGraph, compile, lenet5 } from "../../src/index.ts"
import { takeExamples } from "../../src/data/batches.ts"
import { decodeSafetensors } from "../../src/io/safetensors.ts"
import { importOnnx } from "../../src/io/onnx/import.ts"
import { main } from "../../src/node/export-cli.ts"
import { loadMnist } from "../../src/node/mnist.ts"
import { DEFAULT_CONFIG, trainRun } from "../../src/node/train.ts"
import { loadTrainingCheckpoint } from "../../src/node/training-checkpoint.ts"
import { castTensor } from "../../src/tensor/tensor.ts"
import { randomTensor } from "../helpers.ts"
import { expectCloseRelative, runOrt } from "./ort.ts"

const dir = mkdtempSync(join(tmpdir(), "dagrad-export-"))
const checkpoint = join(dir, "checkpoint.dgck")
const quiet = { write: () => true, isTTY: false }
let log: ReturnType<typeof vi.spyOn>
let err: ReturnType<typeof vi.spyOn>

beforeAll(() => {
  const data = { train: takeExamples(loadMnist("train"), 64), test: takeExamples(loadMnist("test"), 32) }
  trainRun({ ...DEFAULT_CONFIG, model: "lenet5", epochs: 1, batchSize: 32, limit: 64, testLimit: 32 }, { out: dir, stream: quiet, data })
  log = vi.spyOn(console, "log").mockImplementation(() => {})
  err = vi.spyOn(console, "error").mockImplementation(() => {})
})
afterAll(() => {
  log.mockRestore()
  err.mockRestore()
})

describe("npm run export", () => {
  it("--format safetensors writes the checkpoint's weights bit for bit under state_dict names", () => {
    const out = join(dir, "model.safetensors")
    expect(main(["--checkpoint", checkpoint, "--format", "safetensors", "--out", out])).toBe(0)
    const { tensors, metadata } = decodeSafetensors(readFileSync(out))
    expect(metadata).toMatchObject({ format: "pt", model: "lenet5", epochs: "1" })
    const saved = loadTrainingCheckpoint(checkpoint).params
    expect([...tensors.keys()]).toEqual([...saved.keys()])
    for (const [name, t] of saved) expect(Buffer.from(tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true)
  })

  it("--format onnx writes a model onnxruntime runs at any batch size with dagrad's outputs", async () => {
    const out = join(dir, "model.onnx")
    expect(main(["--checkpoint", checkpoint, "--format", "onnx", "--out", out])).toBe(0)
    const bytes = new Uint8Array(readFileSync(out))
    const params = loadTrainingCheckpoint(checkpoint).params
    const x = castTensor(randomTensor([5, 1, 28, 28], 8), "float32")
    const m = buildModelGraph(lenet5(), { batchSize: 5 })
    const [expected] = compile(m.builder.graph, [m.output]).run({ x }, params)
    const ort = await runOrt(bytes, { x })
    expect(ort.logits.dims).toEqual([5, 10])
    expectCloseRelative(ort.logits.data, expected.data)
    expect([...importOnnx(bytes).params.keys()]).toEqual([...params.keys()])
  })

  it("usage mistakes and a missing checkpoint exit 1 with a message", () => {
    expect(main(["--format", "tflite", "--out", join(dir, "m")])).toBe(1)
    expect(err).toHaveBeenCalledWith("error: --format expects onnx or safetensors, got 'tflite'")
    expect(main(["--format", "onnx"])).toBe(1)
    expect(err).toHaveBeenCalledWith("error: --out FILE is required")
    expect(main(["--checkpoint", join(dir, "nope.dgck"), "--format", "onnx", "--out", join(dir, "m.onnx")])).toBe(1)
    expect(err).toHaveBeenCalledWith(expect.stringMatching(/nope\.dgck: cannot read the file/))
  })
})
