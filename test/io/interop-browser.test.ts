import { describe, expect, it } from "vitest"
import { runInBrowserSandbox } from "../helpers.ts"

// dagrad/onnx and the safetensors codec work on bytes only: bundle them for the browser
// platform (a Node built-in import fails the build) and run an export -> import and a
// safetensors round trip in a bare V8 context without process, require or Buffer (given
// TextEncoder/TextDecoder, which browsers have).
describe("browser-safe interop", () => {
  it("exports, imports and round-trips weights in a context without Node globals", async () => {
    const result = await runInBrowserSandbox(
      `
          import { buildModelGraph, compile, initParameters, lenet5, tensor } from "./src/index.ts"
          import { exportOnnx, importOnnx } from "./src/io/onnx/index.ts"
          import { decodeSafetensors, encodeSafetensors } from "./src/io/safetensors.ts"
          const params = initParameters(lenet5(), { seed: 1 })
          const m = buildModelGraph(lenet5(), { batchSize: 1 })
          const back = importOnnx(exportOnnx(m.builder.graph, { outputs: { y: m.output }, params }))
          const x = tensor(new Float32Array(784).fill(0.5), [1, 1, 28, 28])
          const [a] = compile(m.builder.graph, [m.output]).run({ x }, params)
          const [b] = compile(back.graph, [back.outputs.get("y")]).run({ x }, back.params)
          const w = decodeSafetensors(encodeSafetensors(params)).tensors
          globalThis.result = {
            same: Array.from(a.data).every((v, i) => v === b.data[i]),
            names: [...w.keys()].length,
            hasProcess: typeof process !== "undefined",
            hasBuffer: typeof Buffer !== "undefined",
          }
        `,
      { performance, TextEncoder, TextDecoder },
    )
    expect(result).toEqual({ same: true, names: 10, hasProcess: false, hasBuffer: false })
  })
})
