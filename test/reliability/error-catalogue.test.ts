// The examples of docs/errors-catalogue.md, asserted verbatim: each error class, one way to
// get it through the public API, and the exact message a user sees.
import { produce } from "immer"
import { describe, expect, it } from "vitest"
import * as d from "../../src/index.ts"
import { decodeCheckpoint, encodeCheckpoint } from "../../src/io/checkpoint.ts"

function messageOf(Class: new (...a: never[]) => d.DagradError, f: () => unknown): string {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(Class)
    return (e as Error).message
  }
  throw new Error(`expected a ${Class.name}`)
}

export const CATALOGUE: { [example: string]: [new (...a: never[]) => d.DagradError, () => unknown, string] } = {
  "GraphError: dtype mixing": [
    d.GraphError,
    () => new d.GraphBuilder().input("x", [2], "float64"),
    "node 'x' op input: dtype float64 in a float32 graph (expected float32 or int32; a graph computes in one float dtype)",
  ],
  "GraphError: a hand-edited output shape": [
    d.GraphError,
    () => {
      const g = new d.GraphBuilder()
      const y = d.relu(g.input("x", [3]))
      const edited = produce(g.graph, (draft) => {
        draft.nodes[y.ref.node].outputs[0] = { name: "y", shape: [4], dtype: "float32" }
      })
      d.compile(edited, [y.ref])
    },
    "node 'relu_0' op relu: stored output 'y' is [4] float32 but the op infers [3] float32 (expected the graph as the builder made it; was it edited by hand?) (inputs x: [3] float32)",
  ],
  "ShapeError: matmul inner sizes": [
    d.ShapeError,
    () => {
      const g = new d.GraphBuilder()
      d.matmul(g.input("a", [2, 3]), g.input("b", [4, 5]))
    },
    "node 'matmul_0' op matmul: matmul of [2, 3] and [4, 5]: inner sizes 3 and 4 differ (expected a's last dim to equal b's second-to-last dim) (inputs a: [2, 3] float32, b: [4, 5] float32)",
  ],
  "ShapeError: reshape's ambiguous -1": [
    d.ShapeError,
    () => d.reshape(new d.GraphBuilder().input("x", [6, 0]), [-1, 0]),
    "node 'reshape_0' op reshape: cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension size -1 can be any value and is ambiguous (expected no -1 next to a 0) (inputs x: [6, 0] float32)",
  ],
  "ShapeError: a 1e12-element intermediate": [
    d.ShapeError,
    () => {
      const g = new d.GraphBuilder()
      const y = d.matmul(g.input("a", [1e6, 1]), g.input("b", [1, 1e6]))
      d.compile(g.graph, [y])
    },
    "node 'matmul_0' op matmul: output 'y' [1000000, 1000000] float32 would hold 1.000e+12 elements (expected at most 2147483647 per tensor) (inputs a: [1000000, 1] float32, b: [1, 1000000] float32)",
  ],
  "AttrError: conv stride 0": [
    d.AttrError,
    () => {
      const g = new d.GraphBuilder()
      d.conv2d(g.input("x", [1, 1, 5, 5]), g.param("w", [1, 1, 3, 3]), undefined, { stride: 0 })
    },
    "node 'conv2d_0' op conv2d: stride = 0 (expected an integer >= 1 or an array of 2 such integers) (inputs x: [1, 1, 5, 5] float32, weight: [1, 1, 3, 3] float32)",
  ],
  "AttrError: a NaN seed": [d.AttrError, () => d.initParameters(d.mlp(), { seed: NaN }), "seed NaN (expected an integer)"],
  "FeedError: a feed whose typed array does not match its dtype": [
    d.FeedError,
    () => {
      const g = new d.GraphBuilder()
      const t = g.input("target", [1], "int32")
      d.compile(g.graph, [t]).run({ target: { shape: [1], dtype: "int32", data: new Float32Array([1.5]) } as unknown as d.Tensor })
    },
    "node 'target' op input: feed 'target': dtype int32 is stored in an Int32Array but the data is Float32Array (expected [1] int32)",
  ],
  "FeedError: an index past the dataset": [
    d.FeedError,
    () => d.makeBatch({ images: new Uint8Array(16), labels: new Uint8Array(4), count: 4, channels: 1, height: 2, width: 2, numClasses: 10 }, [0, 9], 0, 2),
    "order[1] is 9 (expected an integer index 0 <= index < 4, the dataset size)",
  ],
  "KernelError: a class index out of range": [
    d.KernelError,
    () => {
      const g = new d.GraphBuilder()
      const loss = d.crossEntropy(g.input("x", [1, 3]), g.input("t", [1], "int32"))
      d.compile(g.graph, [loss]).run({ x: d.zeros([1, 3]), t: d.tensor([5], [1], "int32") })
    },
    "node 'cross_entropy_0' op cross_entropy: target[0] = 5 is out of range for 3 classes (expected 0 <= class < 3, or ignore_index -100) (inputs x: [1, 3] float32, target: [1] int32)",
  ],
  "FormatError: a corrupt checkpoint": [
    d.FormatError,
    () => {
      const bytes = encodeCheckpoint({ tensors: new Map([["w", d.tensor([1, 2], [2])]]), meta: {} })
      bytes[bytes.length - 1] ^= 1
      decodeCheckpoint(bytes, "runs/lenet5/checkpoint.dgck")
    },
    "runs/lenet5/checkpoint.dgck: found payload CRC-32 0x593895e0, expected 0x2e3fa576 (the tensor data is corrupt)",
  ],
  "AnomalyError: the first NaN": [
    d.AnomalyError,
    () => {
      const g = new d.GraphBuilder({ dtype: "float64" })
      const y = d.sum(d.log(g.input("x", [3])))
      d.compile(g.graph, [y]).run({ x: d.tensor([1, -1, 2], [3], "float64") }, new Map(), { detectAnomaly: true })
    },
    "node 'log_0' op log: anomaly detected in forward node 'log_0': output 'y' [3] float64 holds NaN at flat index 1 (expected finite values; inputs: x [3] in [-1, 2])",
  ],
  "AnomalyError: a gradient node": [
    d.AnomalyError,
    () => {
      const g = new d.GraphBuilder({ dtype: "float64" })
      const x = g.input("x", [2])
      const p = d.pow(x, 0.5)
      const loss = d.sum(d.mul(p, p))
      const [gx] = d.gradValues(g, loss, [x])
      d.compile(g.graph, [loss, gx]).run({ x: d.tensor([0, 4], [2], "float64") }, new Map(), { detectAnomaly: true })
    },
    "node 'pow_9' op pow: anomaly detected in gradient node 'pow_9' differentiating forward node 'pow_0' (op pow): output 'y' [2] float64 holds Infinity at flat index 0 (expected finite values; inputs: x [2] in [0, 4])",
  ],
}

describe("docs/errors-catalogue.md examples", () => {
  for (const [example, [Class, f, message]] of Object.entries(CATALOGUE)) {
    it(example, () => {
      expect(messageOf(Class, f)).toBe(message)
    })
  }
})
