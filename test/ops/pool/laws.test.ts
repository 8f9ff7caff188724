// The generic op law (DESIGN "Tests") for every pooling op and backward op: output shape
// equals the inferred shape, two runs give identical bits, inputs are left untouched, and
// (where the op is differentiable away from ties) the gradient matches finite differences.
import { describe, expect, it } from "vitest"
import type { Tensor, Value } from "../../../src/index.ts"
import * as pool from "../../../src/ops/pool/index.ts"
import { checkOpLaws } from "../../../src/testing/laws.ts"
import { randomTensor, run } from "./helpers.ts"

type Case = [name: string, fn: (v: { readonly [k: string]: Value }) => Value, inputs: { readonly [k: string]: Tensor }, gradient?: boolean]

const x1 = randomTensor([2, 3, 9], 1)
const x2 = randomTensor([2, 2, 7, 6], 2)
const x3 = randomTensor([1, 2, 5, 4, 6], 3)
const positive2 = randomTensor([2, 2, 7, 6], 4, 0.5, 2)
const [, idx2] = run((v) => {
  const r = pool.maxPool2dWithIndices(v.x, { kernel_size: 2 })
  return [r.y, r.indices]
}, { x: x2 })
const y2 = run((v) => pool.maxPool2d(v.x, { kernel_size: 2 }), { x: x2 })[0]

const cases: Case[] = [
  ["max_pool1d", (v) => pool.maxPool1d(v.x, { kernel_size: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true }), { x: x1 }],
  ["max_pool2d", (v) => pool.maxPool2d(v.x, { kernel_size: [3, 2], stride: [2, 1], padding: [1, 0], ceil_mode: true }), { x: x2 }],
  ["max_pool2d 2x2 fast path", (v) => pool.maxPool2d(v.x, { kernel_size: 2 }), { x: x2 }],
  ["max_pool3d", (v) => pool.maxPool3d(v.x, { kernel_size: 2, stride: [1, 2, 2], padding: 1 }), { x: x3 }],
  ["avg_pool1d", (v) => pool.avgPool1d(v.x, { kernel_size: 3, stride: 2, padding: 1, ceil_mode: true }), { x: x1 }],
  ["avg_pool2d", (v) => pool.avgPool2d(v.x, { kernel_size: 3, stride: 2, padding: 1, count_include_pad: false }), { x: x2 }],
  ["avg_pool3d", (v) => pool.avgPool3d(v.x, { kernel_size: [2, 3, 2], divisor_override: 5 }), { x: x3 }],
  ["lp_pool1d", (v) => pool.lpPool1d(v.x, { norm_type: 2, kernel_size: 2, ceil_mode: true }), { x: x1 }],
  ["lp_pool2d", (v) => pool.lpPool2d(v.x, { norm_type: 3, kernel_size: [3, 2], stride: [1, 2] }), { x: positive2 }],
  ["lp_pool3d", (v) => pool.lpPool3d(v.x, { norm_type: 1, kernel_size: 2 }), { x: x3 }],
  ["adaptive_avg_pool2d", (v) => pool.adaptiveAvgPool2d(v.x, [3, 4]), { x: x2 }],
  ["adaptive_max_pool3d", (v) => pool.adaptiveMaxPool3d(v.x, [2, 3, 2]), { x: x3 }],
  ["adaptive_max_pool1d split", (v) => pool.adaptiveMaxPool1d(v.x, 5, { tie: "split" }), { x: x1 }],
  ["max_unpool2d", (v) => pool.maxUnpool2d(v.x, v.indices, { kernel_size: 2, output_size: [7, 6] }), { x: y2, indices: idx2 }],
  ["max_pool2d_backward", (v) => pool.maxPool2dBackward(v.gy, v.indices, { kernel_size: 2, input_size: [7, 6] }), { gy: y2, indices: idx2 }],
  ["avg_pool2d_backward", (v) => pool.avgPool2dBackward(v.gy, { kernel_size: 2, input_size: [7, 6] }), { gy: y2 }],
  ["gather_planes", (v) => pool.gatherPlanes(v.x, v.indices, 2), { x: x2, indices: idx2 }],
  ["scatter_add_planes", (v) => pool.scatterAddPlanes(v.g, v.indices, [7, 6]), { g: y2, indices: idx2 }],
]

describe("pooling op laws", () => {
  for (const [name, fn, inputs, gradient] of cases) {
    it(name, () => {
      const r = checkOpLaws(fn, inputs, { gradient })
      expect(r.violations).toEqual([])
    })
  }
})
