// Class 5 of issue 18: no untyped escapes. Hand-edited graphs fail in compile with the node
// named, huge intermediates are a ShapeError naming the node before any allocation, and a
// NaN seed is an error instead of seed 0.
import { produce } from "immer"
import { describe, expect, it } from "vitest"
import "../../src/ops/builtins.ts"
import { AttrError, GraphError, KernelError, ShapeError } from "../../src/errors.ts"
import { GraphBuilder } from "../../src/graph/builder.ts"
import type { Graph } from "../../src/graph/builder.ts"
import { compile } from "../../src/exec/plan.ts"
import { allocationError } from "../../src/exec/validate.ts"
import { MAX_TENSOR_ELEMENTS } from "../../src/exec/compile-checks.ts"
import { conv2d } from "../../src/ops/conv/index.ts"
import { matmul } from "../../src/ops/linalg/index.ts"
import { transpose } from "../../src/ops/shape/index.ts"
import { relu } from "../../src/ops/pointwise/index.ts"
import { zeros } from "../../src/tensor/tensor.ts"
import { Random } from "../../src/tensor/random.ts"
import { initParameters } from "../../src/nn/module.ts"
import { mlp } from "../../src/nn/models.ts"
import { Trainer } from "../../src/nn/trainer.ts"
import { SGD } from "../../src/optim/sgd.ts"
import { errorOf } from "../helpers.ts"

function convGraph(): { graph: Graph; id: string } {
  const g = new GraphBuilder()
  const y = conv2d(g.input("x", [1, 1, 5, 5]), g.param("w", [1, 1, 3, 3]), undefined, { stride: 1 })
  return { graph: g.graph, id: y.ref.node }
}

describe("compile re-validates hand-edited graphs", () => {
  it("conv stride [0, 0] written into the attrs fails in compile, naming the node", () => {
    const { graph, id } = convGraph()
    const edited = produce(graph, (d) => {
      ;(d.nodes[id].attrs as { stride: number[] }).stride = [0, 0]
    })
    const e = errorOf(AttrError, () => compile(edited, [{ node: id, output: "y" }]))
    expect(e.message).toMatch(new RegExp(`^node '${id}' op conv2d: stride`))
    expect(e.context.node).toBe(id)
  })
  it("an output shape edited by hand fails in compile", () => {
    const g = new GraphBuilder()
    const y = relu(g.input("x", [3]))
    const edited = produce(g.graph, (d) => {
      d.nodes[y.ref.node].outputs[0] = { name: "y", shape: [4], dtype: "float32" }
    })
    const e = errorOf(GraphError, () => compile(edited, [y.ref]))
    expect(e.message).toContain("stored output 'y' is [4] float32 but the op infers [3] float32")
  })
  it("a graph the builder made compiles and runs as before", () => {
    const { graph, id } = convGraph()
    const [y] = compile(graph, [{ node: id, output: "y" }]).run({ x: zeros([1, 1, 5, 5]) }, new Map([["w", zeros([1, 1, 3, 3])]]))
    expect(y.shape).toEqual([1, 1, 3, 3])
  })
})

describe("huge intermediates", () => {
  it("a 1e12-element matmul output is a ShapeError naming the node, in compile", () => {
    const g = new GraphBuilder()
    const a = g.input("a", [1e6, 1])
    const y = matmul(a, transpose(g.input("b", [1e6, 1]), 0, 1))
    const e = errorOf(ShapeError, () => compile(g.graph, [y]))
    expect(e.message).toContain(`node '${y.ref.node}' op matmul: output 'y' [1000000, 1000000] float32 would hold 1.000e+12 elements (expected at most ${MAX_TENSOR_ELEMENTS} per tensor)`)
  })
  it("an allocation failure becomes a KernelError naming the node", () => {
    const g = new GraphBuilder()
    const y = relu(g.input("x", [3]))
    const e = allocationError(g.graph.nodes[y.ref.node], new RangeError("Array buffer allocation failed"))
    expect(e).toBeInstanceOf(KernelError)
    expect(e.message).toMatch(/^node 'relu_\d+' op relu: could not allocate the outputs \(y \[3\] float32\): Array buffer allocation failed/)
  })
})

describe("seeds", () => {
  it("initParameters({ seed: NaN }) is an AttrError, not seed 0", () => {
    expect(errorOf(AttrError, () => initParameters(mlp(), { seed: NaN })).message).toContain("seed NaN (expected an integer)")
  })
  it("fractional and infinite seeds, and the Trainer's seed", () => {
    errorOf(AttrError, () => new Random(1.5))
    errorOf(AttrError, () => new Random(Infinity))
    const model = mlp({ inputShape: [4], hidden: [2], numClasses: 2 })
    errorOf(AttrError, () => new Trainer({ model, params: initParameters(model, { seed: 1 }), optimizer: new SGD({ lr: 0.1 }), seed: NaN }))
  })
})
