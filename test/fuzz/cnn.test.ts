// Random CNNs (fast-check): conv / pool / activation stacks with random, sometimes
// impossible, geometry (kernels larger than the input, padding above half a kernel, batch
// 0), ending in flatten -> linear -> cross_entropy, with their gradients. Every failure
// must be a DagradError; every model that builds must run bit-identically twice to its
// inferred shapes; smooth float64 models (tanh, avg pooling) must pass finite differences.
import fc from "fast-check"
import { describe, it } from "vitest"
import * as ops from "../../src/index.ts"
import { GraphBuilder, type Value } from "../../src/graph/builder.ts"
import { gradValues } from "../../src/autodiff/grad.ts"
import { sizeOf } from "../../src/tensor/shape.ts"
import { randomTensor } from "../../src/testing/tensors.ts"
import { tensor, type Tensor } from "../../src/tensor/tensor.ts"
import { checkFiniteDifferences, checkRuns, orDagradError, statsLine } from "./properties.ts"
import { fuzzParameters, fuzzTimeout } from "./config.ts"

type Layer =
  | { kind: "conv"; out: number; k: number; stride: number; padding: number; dilation: number; bias: boolean }
  | { kind: "maxpool" | "avgpool"; k: number; stride: number; padding: number; ceil: boolean }
  | { kind: "relu" | "tanh" }

const layerArb: fc.Arbitrary<Layer> = fc.oneof(
  fc.record({
    kind: fc.constant("conv" as const),
    out: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 2 }),
    padding: fc.integer({ min: 0, max: 2 }),
    dilation: fc.integer({ min: 1, max: 2 }),
    bias: fc.boolean(),
  }),
  fc.record({
    kind: fc.constantFrom("maxpool" as const, "avgpool" as const),
    k: fc.integer({ min: 1, max: 3 }),
    stride: fc.integer({ min: 1, max: 3 }),
    padding: fc.integer({ min: 0, max: 2 }),
    ceil: fc.boolean(),
  }),
  fc.record({ kind: fc.constantFrom("relu" as const, "tanh" as const) }),
)
const cnnArb = fc.record({
  input: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })),
  layers: fc.array(layerArb, { minLength: 1, maxLength: 4 }),
  classes: fc.integer({ min: 2, max: 3 }),
  seed: fc.integer({ min: 0, max: 2 ** 30 }),
})

/** Builds the model's loss; weights are graph inputs named by `operand` (so finite differences can vary them). */
function buildLoss(x: Value, labels: Value, layers: readonly Layer[], classes: number, operand: (name: string, shape: readonly number[]) => Value): Value {
  let v = x
  layers.forEach((l, i) => {
    if (l.kind === "conv") {
      const w = operand(`conv${i}.weight`, [l.out, v.shape[1], l.k, l.k])
      v = ops.conv2d(v, w, l.bias ? operand(`conv${i}.bias`, [l.out]) : undefined, { stride: l.stride, padding: l.padding, dilation: l.dilation })
    } else if (l.kind === "maxpool") v = ops.maxPool2d(v, { kernel_size: l.k, stride: l.stride, padding: l.padding, ceil_mode: l.ceil })
    else if (l.kind === "avgpool") v = ops.avgPool2d(v, { kernel_size: l.k, stride: l.stride, padding: l.padding, ceil_mode: l.ceil })
    else v = l.kind === "relu" ? ops.relu(v) : ops.tanh(v)
  })
  const flat = ops.flatten(v, 1)
  const logits = ops.linear(flat, operand("fc.weight", [classes, flat.shape[1]]), operand("fc.bias", [classes]))
  return ops.crossEntropy(logits, labels)
}

const smooth = (layers: readonly Layer[]): boolean => layers.every((l) => l.kind === "conv" || l.kind === "avgpool" || l.kind === "tanh")

describe("fuzz: random CNNs", () => {
  const params = fuzzParameters(40)
  it(
    "fail only with DagradErrors; loss and gradients run to their inferred shapes, bit-identically; smooth float64 models pass finite differences",
    () => {
      fc.assert(
        fc.property(cnnArb, fc.constantFrom("float32" as const, "float64" as const), ({ input, layers, classes, seed }, dtype) => {
          const g = new GraphBuilder({ dtype })
          const operand = (name: string, s: readonly number[]): Value => g.input(name, s)
          const labels = g.input("labels", [input[0]], "int32")
          const built = orDagradError("building the CNN", () => {
            const loss = buildLoss(g.input("x", input), labels, layers, classes, operand)
            const wrt = g.graph.order.filter((id) => g.graph.nodes[id].kind === "input" && id !== "labels").map((id) => g.value({ node: id, output: "y" }))
            return { loss, grads: gradValues(g, loss, wrt) }
          })
          if (built === undefined) return
          // the gradient of every input, summed into one fetch so a single plan runs all of them
          const total = orDagradError("summing the gradients", () => built.grads.reduce((acc, gr) => ops.add(acc, ops.sum(gr)), built.loss))
          if (total === undefined || !checkRuns(g, total, seed) || dtype !== "float64" || !smooth(layers) || input[0] === 0) return
          const inputs: { [name: string]: Tensor } = {}
          for (const id of g.graph.order) {
            const node = g.graph.nodes[id]
            if (node.kind !== "input") continue
            inputs[id] = id === "labels" ? tensor(Array.from({ length: input[0] }, (_, k) => (seed + k) % classes), [input[0]], "int32") : randomTensor(node.outputs[0].shape, seed + id.length)
          }
          if (Object.values(inputs).reduce((n, t) => n + sizeOf(t.shape), 0) > 400) return
          checkFiniteDifferences((values) => buildLoss(values.x, values.labels, layers, classes, (name) => values[name]), inputs)
        }),
        params,
      )
      console.log(statsLine("CNNs"))
    },
    fuzzTimeout(40, 30),
  )
})
