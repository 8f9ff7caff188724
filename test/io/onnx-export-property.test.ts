import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { AttrError, GraphBuilder, compile, conv1d, conv2d, conv3d, type Tensor, type Value } from "../../src/index.ts"
import { exportOnnx } from "../../src/io/onnx/export.ts"
import { convConfigArb } from "../../src/testing/arbitraries.ts"
import { poolProblemArb, type PoolKind } from "../../src/testing/pool-arbitraries.ts"
import { castTensor } from "../../src/tensor/tensor.ts"
import { randomTensor } from "../helpers.ts"
import { expectCloseRelative, runOrt } from "./ort.ts"

/** One random problem: how to build it on an input, its input, and its params. */
interface Problem {
  readonly label: string
  readonly inputShape: readonly number[]
  readonly x: Tensor
  readonly build: (x: Value) => Value
  readonly params: Map<string, Tensor>
}

const f32 = (t: Tensor): Tensor => castTensor(t, "float32")
const dimsArb = fc.constantFrom(1 as const, 2 as const, 3 as const)

const poolArb: fc.Arbitrary<Problem> = fc
  .tuple(fc.constantFrom<PoolKind>("max", "avg", "lp", "adaptive_max", "adaptive_avg"), dimsArb)
  .chain(([kind, dims]) => poolProblemArb(kind, dims, "tie-free", { maxBatch: 2, maxChannels: 2 }))
  .map(({ config, x }) => ({ label: `${config.opName} ${JSON.stringify(config.attrs)} on [${config.inputShape}]`, inputShape: config.inputShape, x: f32(x), build: config.apply, params: new Map() }))

const convArb: fc.Arbitrary<Problem> = fc.tuple(dimsArb, fc.integer({ min: 0, max: 1_000_000 })).chain(([dims, seed]) =>
  convConfigArb(dims).map((c) => ({
    label: `conv${dims}d ${JSON.stringify(c.attrs)} x [${c.inputShape}] w [${c.weightShape}]`,
    inputShape: c.inputShape,
    x: f32(randomTensor(c.inputShape, seed)),
    build: (x: Value) => [conv1d, conv2d, conv3d][dims - 1](x, x.builder.param("w", c.weightShape), x.builder.param("b", [c.weightShape[0]]), c.attrs),
    params: new Map([
      ["w", f32(randomTensor(c.weightShape, seed + 1))],
      ["b", f32(randomTensor([c.weightShape[0]], seed + 2))],
    ]),
  })),
)

describe("ONNX export of random pooling and convolution configurations", () => {
  it("every configuration ONNX can express runs in onnxruntime with dagrad's output; the rest are named errors", async () => {
    let compared = 0
    const refused: string[] = []
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 5, arbitrary: poolArb }, { weight: 2, arbitrary: convArb }), async (p) => {
        const b = new GraphBuilder()
        const y = p.build(b.input("x", p.inputShape))
        const [expected] = compile(b.graph, [y]).run({ x: p.x }, p.params)
        let bytes: Uint8Array
        try {
          bytes = exportOnnx(b.graph, { outputs: { y }, params: p.params })
        } catch (e) {
          // The one family ONNX cannot express: adaptive pooling with uneven bins.
          expect(e, p.label).toBeInstanceOf(AttrError)
          expect((e as Error).message, p.label).toMatch(/adaptive_(avg|max)_pool\dd: cannot export to ONNX: output_size .* is not a multiple of/)
          refused.push(p.label)
          return
        }
        const ort = await runOrt(bytes, { x: p.x })
        expect(ort.y.dims, p.label).toEqual(expected.shape)
        expectCloseRelative(ort.y.data, expected.data, 1e-5, p.label)
        compared++
      }),
      { numRuns: 300, seed: 20261207 },
    )
    expect(compared).toBeGreaterThanOrEqual(200)
    console.log(`onnx export property: ${compared} configurations compared in onnxruntime, ${refused.length} refused (uneven adaptive bins)`)
  })
})
