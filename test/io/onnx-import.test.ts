import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { AttrError, FormatError, GraphBuilder, buildModelGraph, compile, crossEntropy, gradValues, lenet5, tensor, type Tensor, type Value } from "../../src/index.ts"
import { importOnnx, UnsupportedOnnxError } from "../../src/io/onnx/import.ts"
import { inspectRouting } from "../../src/research/index.ts"
import { encodeModelProto } from "../../src/io/onnx/proto.ts"

// ONNX files written by torch.onnx.export (PyTorch 1.13), vendored from ../shared/onnx with
// PyTorch's output for a random input (see onnx-fixtures/README.md).
const dir = new URL("onnx-fixtures/", import.meta.url)
interface Reference {
  readonly opset: number
  readonly input: { name: string; shape: number[]; data: number[] }
  readonly output: { name: string; shape: number[]; data: number[] }
}
export const PYTORCH_MODELS = ["lenet5", "lenet5_opset13", "pools2d", "audio1d", "volume3d", "upsample"] as const
export const fixtureBytes = (name: string): Uint8Array => readFileSync(new URL(`${name}.onnx`, dir))
export const fixtureReference = (name: string): Reference => JSON.parse(readFileSync(new URL(`${name}.json`, dir), "utf8")) as Reference

describe("ONNX import of PyTorch-exported models", () => {
  for (const name of PYTORCH_MODELS) {
    it(`${name}: dagrad reproduces PyTorch's output`, () => {
      const ref = fixtureReference(name)
      const m = importOnnx(fixtureBytes(name), { batchSize: ref.input.shape[0], file: `${name}.onnx` })
      expect(m.opset).toBe(ref.opset)
      const y = m.outputs.get(ref.output.name)!
      expect(y.shape).toEqual(ref.output.shape)
      const [out] = compile(m.graph, [y]).run({ [ref.input.name]: tensor(ref.input.data, ref.input.shape) }, m.params)
      const scale = Math.max(1, ...ref.output.data.map(Math.abs))
      const diff = Math.max(...ref.output.data.map((e, i) => Math.abs(out.data[i] - e)))
      expect(diff).toBeLessThanOrEqual(1e-5 * scale)
    })
  }

  it("the imported graph's max pools are inspectable like a built graph's (same routing)", () => {
    const ref = fixtureReference("lenet5")
    const x = tensor(ref.input.data, ref.input.shape)
    const m = importOnnx(fixtureBytes("lenet5"), { batchSize: ref.input.shape[0] })
    const native = buildModelGraph(lenet5(), { batchSize: ref.input.shape[0] })
    const imported = inspectRouting(m.graph, { x }, m.params)
    const built = inspectRouting(native.builder.graph, { x }, m.params)
    expect(imported.map((r) => r.inputShape)).toEqual([[2, 6, 28, 28], [2, 16, 10, 10]].map((s) => [ref.input.shape[0], ...s.slice(1)]))
    imported.forEach((r, i) => expect(Array.from(r.winCounts.data)).toEqual(Array.from(built[i].winCounts.data)))
  })

  it("names parameters after the initializers (PyTorch's state_dict keys)", () => {
    const m = importOnnx(fixtureBytes("lenet5"))
    expect([...m.params.keys()]).toEqual(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
    expect(m.inputs.get("x")!.shape).toEqual([1, 1, 28, 28])
  })
})

describe("ONNX import: fine-tuning and bad files", () => {
  it("the imported LeNet-5 has the same loss and gradients as lenet5() with the same weights, bit for bit", () => {
    const ref = fixtureReference("lenet5")
    const n = ref.input.shape[0]
    const x = tensor(ref.input.data, ref.input.shape)
    const target = tensor(Array.from({ length: n }, (_, i) => (3 * i + 1) % 10), [n], "int32")
    const lossAndGrads = (builder: GraphBuilder, y: Value, wrt: Value[], params: ReadonlyMap<string, Tensor>) => {
      const t = builder.input("target", [n], "int32")
      const loss = crossEntropy(y, t)
      const grads = gradValues(builder, loss, wrt)
      return compile(builder.graph, [loss, ...grads]).run({ x, target }, params)
    }
    const m = importOnnx(fixtureBytes("lenet5"), { batchSize: n })
    const imported = lossAndGrads(m.builder, m.outputs.get("y")!, [...m.paramValues.values()], m.params)
    const native = buildModelGraph(lenet5(), { batchSize: n })
    const built = lossAndGrads(native.builder, native.output, [...m.paramValues.keys()].map((k) => native.params.get(k)!), m.params)
    expect(imported.length).toBe(11)
    imported.forEach((t, i) => expect(Array.from(t.data), `fetch ${i}`).toEqual(Array.from(built[i].data)))
    expect(Math.max(...imported.slice(1).map((g) => Math.max(...Array.from(g.data, Math.abs))))).toBeGreaterThan(0)
  })

  const graphWith = (nodes: object[]) =>
    encodeModelProto({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: {
        name: "g",
        node: nodes,
        input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 2 }, { dimValue: 4 }, { dimValue: 4 }] } } } }],
        output: [{ name: "y", type: { tensorType: { elemType: 1 } } }],
      },
    })

  it("lists every unsupported node in one error", () => {
    const bytes = graphWith([
      { name: "up", opType: "Resize", input: ["x"], output: ["a"] },
      { name: "act", opType: "Relu", input: ["a"], output: ["b"] },
      { name: "rnn", opType: "LSTM", input: ["b"], output: ["c"] },
      { name: "mine", opType: "Swish", domain: "com.example", input: ["c"], output: ["y"] },
    ])
    const read = () => importOnnx(bytes, { file: "m.onnx" })
    expect(read).toThrow(UnsupportedOnnxError)
    expect(read).toThrow(/m\.onnx: found 3 node\(s\) with ops dagrad cannot import: 'up' \(Resize\), 'rnn' \(LSTM\), 'mine' \(com\.example\.Swish\); expected only Conv, /)
    try {
      read()
    } catch (e) {
      expect((e as UnsupportedOnnxError).nodes.map((n) => n.opType)).toEqual(["Resize", "LSTM", "Swish"])
    }
  })

  it("names the node whose configuration dagrad cannot express", () => {
    const bytes = graphWith([
      { name: "pool", opType: "MaxPool", input: ["x"], output: ["y"], attribute: [
        { name: "kernel_shape", type: 7, ints: [3, 3] },
        { name: "pads", type: 7, ints: [0, 0, 1, 1] },
      ] },
    ])
    expect(() => importOnnx(bytes)).toThrow(AttrError)
    expect(() => importOnnx(bytes)).toThrow(/ONNX node 'pool' \(MaxPool\): asymmetric padding begin \[0,0\] end \[1,1\]/)
  })

  it("rejects bytes that are not an ONNX model", () => {
    expect(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff]), { file: "junk.onnx" })).toThrow(FormatError)
    expect(() => importOnnx(fixtureBytes("lenet5").subarray(0, 5000), { file: "cut.onnx" })).toThrow(/cut\.onnx: found bytes that do not decode as an ONNX ModelProto/)
  })
})

describe("ONNX import options", () => {
  it("inputShapes sets whole input shapes and must agree with the file's fixed sizes", () => {
    const m = importOnnx(fixtureBytes("lenet5"), { inputShapes: { x: [7, 1, 28, 28] } })
    expect(m.outputs.get("y")!.shape).toEqual([7, 10])
    expect(importOnnx(fixtureBytes("lenet5"), { dims: { batch: 3 } }).outputs.get("y")!.shape).toEqual([3, 10])
    expect(() => importOnnx(fixtureBytes("lenet5"), { inputShapes: { x: [7, 1, 32, 32] }, file: "lenet5.onnx" })).toThrow(
      /lenet5\.onnx: inputShapes gives 'x' \[7, 1, 32, 32\], but the file fixes \[batch, 1, 28, 28\]/,
    )
  })
})
