import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { buildModelGraph, compile, initParameters, lenet5, namedParameters, tensor, type Tensor } from "../../src/index.ts"
import { checkTensorsMatch } from "../../src/io/checkpoint.ts"
import { decodeSafetensors, encodeSafetensors } from "../../src/io/safetensors.ts"

// Recorded by test/interop/scripts/torch_lenet5_safetensors.py (PyTorch 1.13): torch's
// LeNet-5 of docs/interop.md loaded dagrad's file with load_state_dict(strict=True), and
// wrote its own weights as torch-lenet5.safetensors.
const fixtures = new URL("../interop/fixtures/", import.meta.url)
interface Recorded {
  readonly state_dict_keys: string[]
  readonly load_state_dict: { missing_keys: string[]; unexpected_keys: string[] }
  readonly dagrad_file_sha256: string
  readonly input: { shape: number[]; data: number[] }
  readonly output_with_dagrad_weights: { shape: number[]; data: number[] }
  readonly output_with_torch_weights: { shape: number[]; data: number[] }
}
const recorded = JSON.parse(readFileSync(new URL("lenet5-safetensors-torch.json", fixtures), "utf8")) as Recorded

function lenetOutput(params: ReadonlyMap<string, Tensor>): Float32Array {
  const m = buildModelGraph(lenet5(), { batchSize: recorded.input.shape[0] })
  const [y] = compile(m.builder.graph, [m.output]).run({ x: tensor(recorded.input.data, recorded.input.shape) }, params)
  return y.data as Float32Array
}

function expectClose(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length)
  const scale = Math.max(...expected.map(Math.abs))
  const diff = Math.max(...expected.map((e, i) => Math.abs(actual[i] - e)))
  expect(diff).toBeLessThanOrEqual(1e-5 * scale)
}

describe("safetensors with PyTorch's LeNet-5", () => {
  it("dagrad's parameter names are exactly torch's state_dict keys", () => {
    expect(namedParameters(lenet5()).map((p) => p.name)).toEqual(recorded.state_dict_keys)
    expect(recorded.load_state_dict).toEqual({ missing_keys: [], unexpected_keys: [] })
  })

  it("torch loaded the bytes dagrad writes today, and computes what dagrad computes with them", () => {
    const params = initParameters(lenet5(), { seed: 7 })
    const bytes = encodeSafetensors(params, { metadata: { format: "pt" } })
    expect(createHash("sha256").update(bytes).digest("hex")).toBe(recorded.dagrad_file_sha256)
    expectClose(lenetOutput(params), recorded.output_with_dagrad_weights.data)
  })

  it("loads weights torch wrote and computes torch's output", () => {
    const { tensors, metadata } = decodeSafetensors(readFileSync(new URL("torch-lenet5.safetensors", fixtures)), { file: "torch-lenet5.safetensors" })
    expect(metadata).toEqual({ format: "pt" })
    const expected = new Map(namedParameters(lenet5()).map((p) => [p.name, { shape: p.shape, dtype: "float32" as const }]))
    checkTensorsMatch(tensors, expected, "torch-lenet5.safetensors")
    expectClose(lenetOutput(tensors), recorded.output_with_torch_weights.data)
  })
})
