// Random op chains (fast-check): shapes with size-0 and size-1 dims, ops applied with
// random, often invalid, attributes and operand shapes. Every failure must be a DagradError;
// every graph that builds must run to its inferred shape, bit-identically twice; smooth
// float64 chains must pass finite differences.
import fc from "fast-check"
import { describe, it } from "vitest"
import * as ops from "../../src/index.ts"
import { GraphBuilder, type Value } from "../../src/graph/builder.ts"
import { sizeOf } from "../../src/tensor/shape.ts"
import { randomTensor } from "../../src/testing/tensors.ts"
import type { Tensor } from "../../src/tensor/tensor.ts"
import { checkFiniteDifferences, checkRuns, orDagradError, statsLine } from "./properties.ts"
import { fuzzParameters, fuzzTimeout } from "./config.ts"

const UNARY = ["relu", "neg", "exp", "tanh", "sigmoid", "log", "gelu", "softplus", "elu", "leakyRelu", "square", "scale", "addScalar"] as const
const SMOOTH_UNARY = new Set(["neg", "exp", "tanh", "sigmoid", "gelu", "softplus", "square", "scale", "addScalar"])
type Unary = (typeof UNARY)[number]

type Step =
  | { kind: "unary"; op: Unary; value: number }
  | { kind: "binary"; op: "add" | "sub" | "mul" | "div"; other: "same" | "ones" | number[] }
  | { kind: "reshape"; shape: number[] }
  | { kind: "transpose"; dim0: number; dim1: number }
  | { kind: "reduce"; op: "sum" | "mean"; dim: number | null; keepdim: boolean }
  | { kind: "softmax"; log: boolean; dim: number }
  | { kind: "matmul"; columns: number; rows: number | null }
  | { kind: "linear"; out: number; inFeatures: number | null; bias: boolean }
  | { kind: "flatten"; start: number; end: number }

const dim = fc.integer({ min: 0, max: 4 })
const shapeArb = fc.array(dim, { minLength: 1, maxLength: 3 })
const axis = fc.integer({ min: -3, max: 3 })
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("unary" as const), op: fc.constantFrom(...UNARY), value: fc.double({ min: -2, max: 2, noNaN: true }) }),
  fc.record({ kind: fc.constant("binary" as const), op: fc.constantFrom("add" as const, "sub" as const, "mul" as const, "div" as const), other: fc.oneof(fc.constant("same" as const), fc.constant("ones" as const), shapeArb) }),
  fc.record({ kind: fc.constant("reshape" as const), shape: fc.oneof(fc.constant<number[]>([-1]), fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 1, maxLength: 3 })) }),
  fc.record({ kind: fc.constant("transpose" as const), dim0: axis, dim1: axis }),
  fc.record({ kind: fc.constant("reduce" as const), op: fc.constantFrom("sum" as const, "mean" as const), dim: fc.option(axis, { nil: null }), keepdim: fc.boolean() }),
  fc.record({ kind: fc.constant("softmax" as const), log: fc.boolean(), dim: axis }),
  fc.record({ kind: fc.constant("matmul" as const), columns: fc.integer({ min: 0, max: 3 }), rows: fc.option(dim, { nil: null }) }),
  fc.record({ kind: fc.constant("linear" as const), out: fc.integer({ min: 0, max: 3 }), inFeatures: fc.option(dim, { nil: null }), bias: fc.boolean() }),
  fc.record({ kind: fc.constant("flatten" as const), start: axis, end: axis }),
)
const chainArb = fc.record({ shape: shapeArb, steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }), seed: fc.integer({ min: 0, max: 2 ** 30 }) })

/** True when every step of the chain is smooth (finite differences are a valid check). */
const smooth = (steps: readonly Step[]): boolean =>
  steps.every((s) => (s.kind === "unary" ? SMOOTH_UNARY.has(s.op) : s.kind === "binary" ? s.op !== "div" : true))

/** The operand shape a binary step asks for, given the current value's shape. */
function otherShape(step: Extract<Step, { kind: "binary" }>, shape: readonly number[]): number[] {
  if (step.other === "same") return [...shape]
  if (step.other === "ones") return shape.map((d, i) => (i % 2 === 0 ? 1 : d))
  return step.other
}

/**
 * Applies the chain to `x`. Extra operands come from `operand(name, shape)`: graph inputs
 * when fuzzing runs, the same inputs when finite differences rebuild the chain.
 */
function applyChain(x: Value, steps: readonly Step[], operand: (name: string, shape: readonly number[]) => Value): Value {
  let v = x
  steps.forEach((s, i) => {
    const last = v.shape[v.shape.length - 1] ?? 1
    switch (s.kind) {
      case "unary":
        v =
          s.op === "leakyRelu" ? ops.leakyRelu(v, 0.1)
          : s.op === "square" ? ops.pow(v, 2)
          : s.op === "scale" ? ops.scale(v, s.value)
          : s.op === "addScalar" ? ops.addScalar(v, s.value)
          : ops[s.op](v)
        break
      case "binary":
        v = ops[s.op](v, operand(`b${i}`, otherShape(s, v.shape)))
        break
      case "reshape":
        v = ops.reshape(v, s.shape)
        break
      case "transpose":
        v = ops.transpose(v, s.dim0, s.dim1)
        break
      case "reduce":
        v = ops[s.op](v, s.dim, s.keepdim)
        break
      case "softmax":
        v = s.log ? ops.logSoftmax(v, s.dim) : ops.softmax(v, s.dim)
        break
      case "matmul":
        v = ops.matmul(v, operand(`m${i}`, [s.rows ?? last, s.columns]))
        break
      case "linear":
        v = ops.linear(v, operand(`w${i}`, [s.out, s.inFeatures ?? last]), s.bias ? operand(`c${i}`, [s.out]) : undefined)
        break
      case "flatten":
        v = ops.flatten(v, s.start, s.end)
        break
    }
  })
  return v
}

describe("fuzz: random op chains", () => {
  const params = fuzzParameters(150)
  it(
    "fail only with DagradErrors; run to their inferred shapes, bit-identically; smooth float64 chains pass finite differences",
    () => {
      fc.assert(
        fc.property(chainArb, fc.constantFrom("float32" as const, "float64" as const), ({ shape, steps, seed }, dtype) => {
          const g = new GraphBuilder({ dtype })
          const operand = (name: string, s: readonly number[]): Value => g.input(name, s)
          const y = orDagradError("building the chain", () => applyChain(g.input("x", shape), steps, operand))
          if (y === undefined) return
          if (!checkRuns(g, y, seed) || dtype !== "float64" || !smooth(steps)) return
          // finite differences: every input differentiated, on the same operand shapes
          const inputs: { [name: string]: Tensor } = {}
          for (const id of g.graph.order) {
            const node = g.graph.nodes[id]
            if (node.kind === "input") inputs[id] = randomTensor(node.outputs[0].shape, seed + id.length)
          }
          if (Object.values(inputs).some((t) => sizeOf(t.shape) === 0) || sizeOf(y.shape) === 0) return
          checkFiniteDifferences((values) => applyChain(values.x, steps, (name) => values[name]), inputs)
        }),
        params,
      )
      console.log(statsLine("op chains"))
    },
    fuzzTimeout(150, 5),
  )
})
