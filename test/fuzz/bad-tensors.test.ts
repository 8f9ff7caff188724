// Tensor-shaped garbage at every public entry that takes tensors (plan.run feeds and
// parameters, Trainer.step, encodeCheckpoint, tensor(), zeros()): each either works or
// throws a DagradError, never a TypeError or RangeError from deep inside.
import fc from "fast-check"
import { describe, it } from "vitest"
import * as d from "../../src/index.ts"
import { encodeCheckpoint } from "../../src/io/checkpoint.ts"
import { orDagradError } from "./properties.ts"
import { fuzzParameters, fuzzTimeout } from "./config.ts"

const shapeArb = fc.oneof(
  fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }),
  fc.constantFrom([2, 3], [2], [6], [], [1.5], null, "2x3", [NaN]),
)
const dtypeArb = fc.constantFrom("float32", "float64", "int32", "float16", "", null, 3)
const dataArb = fc.oneof(
  fc.integer({ min: 0, max: 8 }).map((n) => new Float32Array(n)),
  fc.integer({ min: 0, max: 8 }).map((n) => new Float64Array(n)),
  fc.integer({ min: 0, max: 8 }).map((n) => new Int32Array(n).fill(1)),
  fc.integer({ min: 0, max: 8 }).map((n) => new Uint8Array(n)),
  fc.array(fc.double(), { maxLength: 8 }),
  fc.constantFrom(null, undefined, 7, "data"),
)
const garbageArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ shape: shapeArb, dtype: dtypeArb, data: dataArb }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, "tensor", [], {}) },
)

function lossPlan() {
  const g = new d.GraphBuilder()
  const x = g.input("x", [2, 3])
  const t = g.input("t", [2], "int32")
  const loss = d.crossEntropy(d.linear(x, g.param("w", [3, 3])), t)
  return d.compile(g.graph, [loss])
}

describe("fuzz: tensor-shaped garbage at the public entries", () => {
  const params = fuzzParameters(300)
  it(
    "is accepted or rejected with a DagradError",
    () => {
      const plan = lossPlan()
      const model = d.mlp({ inputShape: [3], hidden: [2], numClasses: 3 })
      const trainer = new d.Trainer({ model, params: d.initParameters(model, { seed: 1 }), optimizer: new d.SGD({ lr: 0.01 }) })
      const good = { x: d.zeros([2, 3]), t: d.tensor([0, 1], [2], "int32") }
      fc.assert(
        fc.property(garbageArb, garbageArb, shapeArb, dtypeArb, (a, b, shape, dtype) => {
          const ta = a as d.Tensor
          const tb = b as d.Tensor
          orDagradError("plan.run(feed x)", () => plan.run({ ...good, x: ta }, new Map([["w", d.zeros([3, 3])]])))
          orDagradError("plan.run(feed t)", () => plan.run({ ...good, t: tb }, new Map([["w", d.zeros([3, 3])]])))
          orDagradError("plan.run(param w)", () => plan.run(good, new Map([["w", ta]])))
          orDagradError("Trainer.step", () => trainer.step(ta, tb))
          orDagradError("encodeCheckpoint", () => encodeCheckpoint({ tensors: new Map([["w", ta]]), meta: {} }))
          const values = (a as { data?: unknown } | null)?.data
          orDagradError("tensor()", () => d.tensor(values as number[], shape as number[], dtype as d.DType))
          orDagradError("zeros()", () => d.zeros(shape as number[], dtype as d.DType))
        }),
        params,
      )
    },
    fuzzTimeout(300, 2),
  )
})
