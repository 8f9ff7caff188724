// Class 4 of issue 18: size-0 dimensions follow PyTorch. Each case builds one op on inputs
// with a size-0 dimension, takes the gradient of sum(output) w.r.t. every float input, and
// runs both; the expectation (output shape and values, gradient shapes, or "PyTorch rejects
// it") comes from PyTorch 1.13 via test/reliability/zero-size/zero_size_torch.py.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import "../../src/ops/builtins.ts"
import { DagradError } from "../../src/errors.ts"
import { GraphBuilder, type Value } from "../../src/graph/builder.ts"
import { gradValues } from "../../src/autodiff/grad.ts"
import { compile } from "../../src/exec/plan.ts"
import { zeros } from "../../src/tensor/tensor.ts"
import type { Tensor } from "../../src/tensor/tensor.ts"
import * as ops from "../../src/index.ts"

interface TorchResult {
  readonly y?: number[]
  readonly values?: (number | null)[] | null
  readonly grads?: (number[] | null)[]
  readonly error?: string
}
const golden = JSON.parse(readFileSync(new URL("./zero-size/zero-size.json", import.meta.url), "utf8")) as { cases: { [name: string]: TorchResult } }

type Build = (g: GraphBuilder) => { y: Value; inputs: Value[] }
const x = (g: GraphBuilder, shape: number[], name = "x"): Value => g.input(name, shape)
const one =
  (shape: number[], f: (x: Value) => Value): Build =>
  (g) => {
    const a = x(g, shape)
    return { y: f(a), inputs: [a] }
  }
const two =
  (sa: number[], sb: number[], f: (a: Value, b: Value) => Value): Build =>
  (g) => {
    const a = x(g, sa, "a")
    const b = x(g, sb, "b")
    return { y: f(a, b), inputs: [a, b] }
  }
const three =
  (sa: number[], sb: number[], sc: number[], f: (a: Value, b: Value, c: Value) => Value): Build =>
  (g) => {
    const a = x(g, sa, "a")
    const b = x(g, sb, "b")
    const c = x(g, sc, "c")
    return { y: f(a, b, c), inputs: [a, b, c] }
  }
const noLabels = (f: (x: Value, t: Value) => Value): Build => (g) => {
  const a = x(g, [0, 3])
  return { y: f(a, g.input("t", [0], "int32")), inputs: [a] }
}

const CASES: { [name: string]: Build } = {
  "reshape [6,0] -> [-1,0]": one([6, 0], (a) => ops.reshape(a, [-1, 0])),
  "reshape [0,3] -> [-1]": one([0, 3], (a) => ops.reshape(a, [-1])),
  "reshape [0,3] -> [-1,3]": one([0, 3], (a) => ops.reshape(a, [-1, 3])),
  "reshape [0,3] -> [3,-1]": one([0, 3], (a) => ops.reshape(a, [3, -1])),
  "flatten [2,0,3] from 1": one([2, 0, 3], (a) => ops.flatten(a, 1)),
  "transpose [0,2]": one([0, 2], (a) => ops.transpose(a, 0, 1)),
  "expand [1,3] -> [0,3]": one([1, 3], (a) => ops.expand(a, [0, 3])),
  "add [0,3] + [1,3]": two([0, 3], [1, 3], ops.add),
  "add [2,0] + [2,1]": two([2, 0], [2, 1], ops.add),
  "add [0] + [2]": two([0], [2], ops.add),
  "relu [0,3]": one([0, 3], ops.relu),
  "gelu [0]": one([0], (a) => ops.gelu(a)),
  "sum [0,3]": one([0, 3], (a) => ops.sum(a)),
  "sum [0,3] dim 0": one([0, 3], (a) => ops.sum(a, 0)),
  "mean [0,3]": one([0, 3], (a) => ops.mean(a)),
  "mean [0,3] dim 0": one([0, 3], (a) => ops.mean(a, 0)),
  "matmul [2,0] x [0,3]": two([2, 0], [0, 3], ops.matmul),
  "matmul [0,2] x [2,3]": two([0, 2], [2, 3], ops.matmul),
  "linear x[2,0] w[3,0]": two([2, 0], [3, 0], (a, w) => ops.linear(a, w)),
  "linear x[2,3] w[0,3]": two([2, 3], [0, 3], (a, w) => ops.linear(a, w)),
  "linear x[0,3] w[2,3] b[2]": three([0, 3], [2, 3], [2], (a, w, b) => ops.linear(a, w, b)),
  "linear x[4,2,0] w[3,0]": two([4, 2, 0], [3, 0], (a, w) => ops.linear(a, w)),
  "conv2d x[0,1,4,4] w[2,1,3,3]": two([0, 1, 4, 4], [2, 1, 3, 3], (a, w) => ops.conv2d(a, w)),
  "conv2d x[1,0,4,4] w[2,0,3,3]": two([1, 0, 4, 4], [2, 0, 3, 3], (a, w) => ops.conv2d(a, w)),
  "conv2d x[1,1,0,4] w[2,1,1,1]": two([1, 1, 0, 4], [2, 1, 1, 1], (a, w) => ops.conv2d(a, w)),
  "conv2d x[1,1,4,4] w[0,1,3,3]": two([1, 1, 4, 4], [0, 1, 3, 3], (a, w) => ops.conv2d(a, w)),
  "conv2d x[1,1,4,4] w[1,1,0,3]": two([1, 1, 4, 4], [1, 1, 0, 3], (a, w) => ops.conv2d(a, w)),
  "conv1d x[1,1,4] w[2,1,0]": two([1, 1, 4], [2, 1, 0], (a, w) => ops.conv1d(a, w)),
  "conv_transpose2d x[1,1,4,4] w[1,1,0,3]": two([1, 1, 4, 4], [1, 1, 0, 3], (a, w) => ops.convTranspose2d(a, w)),
  "conv_transpose1d x[1,1,4] w[1,2,0]": two([1, 1, 4], [1, 2, 0], (a, w) => ops.convTranspose1d(a, w)),
  "conv_transpose2d x[0,1,4,4] w[1,2,3,3]": two([0, 1, 4, 4], [1, 2, 3, 3], (a, w) => ops.convTranspose2d(a, w)),
  "conv_transpose2d x[1,1,4,4] w[1,0,3,3]": two([1, 1, 4, 4], [1, 0, 3, 3], (a, w) => ops.convTranspose2d(a, w)),
  "conv_transpose2d x[1,0,4,4] w[0,2,3,3]": two([1, 0, 4, 4], [0, 2, 3, 3], (a, w) => ops.convTranspose2d(a, w)),
  "max_pool2d x[0,1,4,4] k2": one([0, 1, 4, 4], (a) => ops.maxPool2d(a, { kernel_size: 2 })),
  "max_pool2d x[1,0,4,4] k2": one([1, 0, 4, 4], (a) => ops.maxPool2d(a, { kernel_size: 2 })),
  "max_pool2d x[1,1,0,4] k1": one([1, 1, 0, 4], (a) => ops.maxPool2d(a, { kernel_size: 1 })),
  "max_pool1d x[1,1,0] k1": one([1, 1, 0], (a) => ops.maxPool1d(a, { kernel_size: 1 })),
  "avg_pool2d x[0,1,4,4] k2": one([0, 1, 4, 4], (a) => ops.avgPool2d(a, { kernel_size: 2 })),
  "avg_pool2d x[1,0,4,4] k2": one([1, 0, 4, 4], (a) => ops.avgPool2d(a, { kernel_size: 2 })),
  "lp_pool2d x[0,1,4,4] k2": one([0, 1, 4, 4], (a) => ops.lpPool2d(ops.addScalar(a, 1), { norm_type: 2, kernel_size: 2 })),
  "adaptive_avg_pool2d x[0,1,4,4] out 2": one([0, 1, 4, 4], (a) => ops.adaptiveAvgPool2d(a, 2)),
  "adaptive_avg_pool2d x[1,0,4,4] out 2": one([1, 0, 4, 4], (a) => ops.adaptiveAvgPool2d(a, 2)),
  "adaptive_avg_pool2d x[1,1,4,4] out 0": one([1, 1, 4, 4], (a) => ops.adaptiveAvgPool2d(a, 0)),
  "adaptive_max_pool2d x[0,1,4,4] out 2": one([0, 1, 4, 4], (a) => ops.adaptiveMaxPool2d(a, 2)),
  "adaptive_max_pool2d x[1,0,4,4] out 2": one([1, 0, 4, 4], (a) => ops.adaptiveMaxPool2d(a, 2)),
  "adaptive_max_pool2d x[1,1,4,4] out 0": one([1, 1, 4, 4], (a) => ops.adaptiveMaxPool2d(a, 0)),
  "softmax [2,0] dim 1": one([2, 0], (a) => ops.softmax(a, 1)),
  "softmax [0,3] dim 1": one([0, 3], (a) => ops.softmax(a, 1)),
  "log_softmax [2,0] dim 1": one([2, 0], (a) => ops.logSoftmax(a, 1)),
  "cross_entropy x[0,3] mean": noLabels((a, t) => ops.crossEntropy(a, t)),
  "cross_entropy x[0,3] sum": noLabels((a, t) => ops.crossEntropy(a, t, { reduction: "sum" })),
  "nll_loss x[0,3] mean": noLabels((a, t) => ops.nllLoss(a, t)),
  "mse_loss [0] mean": two([0], [0], (a, t) => ops.mseLoss(a, t)),
  "mse_loss [0] sum": two([0], [0], (a, t) => ops.mseLoss(a, t, { reduction: "sum" })),
  "bce_with_logits [0] mean": two([0], [0], (a, t) => ops.binaryCrossEntropyWithLogits(a, t)),
  "batch_norm2d train x[0,3,2,2]": one([0, 3, 2, 2], (a) => ops.batchNorm2d(a, { training: true }).y),
  "batch_norm2d train x[2,0,2,2]": one([2, 0, 2, 2], (a) => ops.batchNorm2d(a, { training: true }).y),
  "batch_norm2d eval x[0,3,2,2]": (g) => {
    const a = x(g, [0, 3, 2, 2])
    const y = ops.batchNorm2d(a, { training: false, running_mean: g.input("rm", [3]), running_var: g.input("rv", [3]) }).y
    return { y, inputs: [a] }
  },
  "conv3d x[0,1,3,3,3] w[2,1,2,2,2]": two([0, 1, 3, 3, 3], [2, 1, 2, 2, 2], (a, w) => ops.conv3d(a, w)),
  "conv3d x[1,1,3,3,3] w[2,1,0,2,2]": two([1, 1, 3, 3, 3], [2, 1, 0, 2, 2], (a, w) => ops.conv3d(a, w)),
  "conv1d x[0,2,5] w[3,2,2] stride 2": two([0, 2, 5], [3, 2, 2], (a, w) => ops.conv1d(a, w, undefined, { stride: 2 })),
  "conv_transpose1d x[0,1,4] w[1,2,3]": two([0, 1, 4], [1, 2, 3], (a, w) => ops.convTranspose1d(a, w)),
  "max_pool1d x[0,2,4] k2": one([0, 2, 4], (a) => ops.maxPool1d(a, { kernel_size: 2 })),
  "max_pool3d x[1,0,2,2,2] k1": one([1, 0, 2, 2, 2], (a) => ops.maxPool3d(a, { kernel_size: 1 })),
  "avg_pool1d x[1,0,4] k2": one([1, 0, 4], (a) => ops.avgPool1d(a, { kernel_size: 2 })),
  "avg_pool3d x[0,1,2,2,2] k2": one([0, 1, 2, 2, 2], (a) => ops.avgPool3d(a, { kernel_size: 2 })),
  "lp_pool2d x[1,0,4,4] k2": one([1, 0, 4, 4], (a) => ops.lpPool2d(ops.addScalar(a, 1), { norm_type: 2, kernel_size: 2 })),
  "adaptive_avg_pool1d x[0,1,4] out 2": one([0, 1, 4], (a) => ops.adaptiveAvgPool1d(a, 2)),
  "adaptive_max_pool1d x[1,1,0] out 1": one([1, 1, 0], (a) => ops.adaptiveMaxPool1d(a, 1)),
  "max_unpool2d x[0,1,2,2] k2": one([0, 1, 4, 4], (a) => {
    const p = ops.maxPool2dWithIndices(a, { kernel_size: 2 })
    return ops.maxUnpool2d(p.y, p.indices, { kernel_size: 2 })
  }),
  "leaky_relu [0,2]": one([0, 2], (a) => ops.leakyRelu(a, 0.1)),
  "elu [2,0]": one([2, 0], (a) => ops.elu(a)),
  "softplus [0]": one([0], (a) => ops.softplus(a)),
  "sigmoid * tanh [0,3]": one([0, 3], (a) => ops.mul(ops.sigmoid(a), ops.tanh(a))),
  "div [0,3] / [3]": two([0, 3], [3], ops.div),
  "log_softmax [0,3] dim 0": one([0, 3], (a) => ops.logSoftmax(a, 0)),
  "permute [2,0,3] (2,0,1)": one([2, 0, 3], (a) => ops.permute(a, [2, 0, 1])),
  "sum [2,0,3] dims (0,2) keepdim": one([2, 0, 3], (a) => ops.sum(a, [0, 2], true)),
  "mean [2,0] dim 1": one([2, 0], (a) => ops.mean(a, 1)),
  "matmul [3,0] x [0,0]": two([3, 0], [0, 0], ops.matmul),
  "bce_with_logits [0] sum": two([0], [0], (a, t) => ops.binaryCrossEntropyWithLogits(a, t, { reduction: "sum" })),
  "dropout train [0,3]": one([0, 3], (a) => ops.dropout(a, { p: 0.5, seed: a.builder.input("seed", [], "int32") })),
}

/**
 * Where dagrad deliberately rejects what PyTorch 1.13 accepts (each with the reason; listed
 * in docs/reliability.md).
 */
const DEVIATIONS: { readonly [name: string]: string } = {
  "conv2d x[1,0,4,4] w[2,0,3,3]": "PyTorch returns [1, 0, 2, 2]: 0 output channels where the weight has 2, a shape no formula gives",
  "batch_norm2d train x[0,3,2,2]": "an empty training batch has no statistics; dagrad asks for N*H*W > 1 values per channel",
}

/** Builds, differentiates and runs a case in float64 with zero inputs (ones for running_var). */
function runCase(build: Build): { y: Tensor; grads: Tensor[] } {
  const g = new GraphBuilder({ dtype: "float64" })
  const { y, inputs } = build(g)
  const total = ops.sum(y)
  const grads = gradValues(g, total, inputs)
  const feeds: { [k: string]: Tensor } = {}
  for (const id of g.graph.order) {
    const node = g.graph.nodes[id]
    if (node.kind !== "input") continue
    const t = zeros(node.outputs[0].shape, node.outputs[0].dtype)
    if (id === "rv") t.data.fill(1)
    feeds[id] = t
  }
  const [out, ...gs] = compile(g.graph, [y, ...grads]).run(feeds)
  return { y: out, grads: gs }
}

describe("size-0 dimensions follow PyTorch 1.13", () => {
  it("every golden case has a dagrad case", () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(golden.cases).sort())
  })
  for (const [name, want] of Object.entries(golden.cases)) {
    it(`${name}: ${want.error === undefined ? `y ${JSON.stringify(want.y)}` : "rejected"}${name in DEVIATIONS ? " (dagrad rejects it)" : ""}`, () => {
      const build = CASES[name]
      if (want.error !== undefined || name in DEVIATIONS) {
        let thrown: unknown
        try {
          runCase(build)
        } catch (e) {
          thrown = e
        }
        expect(thrown, `PyTorch: ${want.error ?? DEVIATIONS[name]}`).toBeInstanceOf(DagradError)
        return
      }
      const { y, grads } = runCase(build)
      expect(y.shape).toEqual(want.y)
      if (want.values !== null && want.values !== undefined) expect([...y.data].map((v) => (Number.isNaN(v) ? null : v))).toEqual(want.values)
      expect(grads.map((t) => t.shape)).toEqual(want.grads)
    })
  }
})

describe("the ambiguous -1", () => {
  it("names PyTorch's reason", () => {
    const g = new GraphBuilder()
    expect(() => ops.reshape(g.input("x", [6, 0]), [-1, 0])).toThrow(
      /cannot reshape tensor of 0 elements into shape \[-1, 0\] because the unspecified dimension size -1 can be any value and is ambiguous/,
    )
  })

  it("conv_transpose2d rejects a zero-size kernel dim when the node is built, as conv2d does", () => {
    const g = new GraphBuilder()
    const xv = g.input("x", [1, 1, 4, 4])
    expect(() => ops.convTranspose2d(xv, g.param("w", [1, 1, 0, 3]))).toThrow(/node 'conv_transpose2d_\d+' op conv_transpose2d: weight \[1, 1, 0, 3\] has an empty kernel/)
    expect(() => ops.conv2d(xv, g.param("w2", [1, 1, 0, 3]))).toThrow(/weight \[1, 1, 0, 3\] has an empty kernel/)
  })
})
