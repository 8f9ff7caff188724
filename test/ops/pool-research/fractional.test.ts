// fractional_max_pool2d/3d against PyTorch goldens (test/golden/fractional_max_pool.json,
// made by test/golden/scripts/fractional_max_pool.py with Debian's python3-torch), plus the
// tie rule, double backward, seeded samples and errors.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, tensor, type Tensor } from "../../../src/index.ts"
import { gradValues } from "../../../src/autodiff/grad.ts"
import { mul } from "../../../src/ops/pointwise/index.ts"
import { sum } from "../../../src/ops/reduce/index.ts"
import { fractionalMaxPool2d, fractionalMaxPool3d, fractionalStarts, fractionalWindowList } from "../../../src/ops/pool-research/fractional.ts"
import { tieSets } from "../../../src/research/windows.ts"
import { checkGradients } from "../../../src/testing/gradcheck.ts"

type GoldenTensor = { shape: number[]; dtype: string; data: (number | string)[] }
type Case = {
  name: string
  op: string
  attrs: { kernel_size: number[]; output_size: number[] | null; output_ratio: number[] | null }
  tags: string[]
  inputs: { x: GoldenTensor; samples: GoldenTensor }
  outputs: { y: GoldenTensor; indices: GoldenTensor }
  upstream?: { y: GoldenTensor }
  grads?: { x: GoldenTensor }
}
const file = JSON.parse(readFileSync(new URL("../../golden/fractional_max_pool.json", import.meta.url), "utf8")) as { format: string; torch_version: string; cases: Case[] }
const num = (v: number | string): number => (typeof v === "number" ? v : v === "NaN" ? NaN : v === "Infinity" ? Infinity : -Infinity)
const t64 = (g: GoldenTensor): Tensor => tensor(g.data.map(num), g.shape, "float64")
const close = (got: ArrayLike<number>, want: readonly (number | string)[]): void => {
  expect(got.length).toBe(want.length)
  want.map(num).forEach((w, i) => {
    if (!Number.isFinite(w)) expect(Object.is(got[i], w) || (Number.isNaN(w) && Number.isNaN(got[i])), `element ${i}: ${got[i]} vs ${w}`).toBe(true)
    else expect(Math.abs(got[i] - w), `element ${i}: ${got[i]} vs ${w}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)))
  })
}

describe("fractional_max_pool2d/3d match PyTorch", () => {
  it(`golden-v1 file made by torch ${file.torch_version}`, () => {
    expect(file.format).toBe("golden-v1")
    expect(file.cases.length).toBeGreaterThanOrEqual(15)
  })
  for (const c of file.cases) {
    it(`${c.name}${c.tags.length ? ` [${c.tags.join(", ")}]` : ""}`, () => {
      const dims = c.op === "fractional_max_pool2d" ? 2 : 3
      const b = new GraphBuilder({ dtype: "float64" })
      const x = b.input("x", c.inputs.x.shape)
      const samples = b.input("samples", c.inputs.samples.shape)
      const attrs = { kernel_size: c.attrs.kernel_size, output_size: c.attrs.output_size, output_ratio: c.attrs.output_ratio }
      const r = (dims === 2 ? fractionalMaxPool2d : fractionalMaxPool3d)(x, attrs, { samples })
      const fetch = [r.y, r.indices]
      if (c.upstream) {
        const [gx] = gradValues(b, sum(mul(r.y, b.input("u", c.upstream.y.shape))), [x])
        fetch.push(gx)
      }
      const feeds = { x: t64(c.inputs.x), samples: t64(c.inputs.samples), ...(c.upstream ? { u: t64(c.upstream.y) } : {}) }
      const out = compile(b.graph, fetch).run(feeds)
      expect(out[0].shape).toEqual(c.outputs.y.shape)
      close(out[0].data, c.outputs.y.data)
      expect([...out[1].data]).toEqual(c.outputs.indices.data)
      if (c.grads) close(out[2].data, c.grads.x.data)
      if (c.tags.includes("ties")) {
        const w = fractionalWindowList(dims, c.inputs.x.shape, attrs, feeds.samples.data)
        expect(tieSets(feeds.x.data, w).some((T) => T.length > 1)).toBe(true)
      }
    })
  }
})

describe("fractional_max_pool details", () => {
  it("interval starts (ATen's generate_intervals, worked by hand)", () => {
    expect(fractionalStarts(0.3, 5, 3, 2)).toEqual([0, 1, 3]) // alpha 1.5: trunc(0.45) - 0, trunc(1.95) - 0, 5 - 2
    expect(fractionalStarts(0.9, 9, 3, 2)).toEqual([0, 3, 7]) // alpha 3.5: 3 - 3, trunc(6.65) - 3, 7
    expect(fractionalStarts(0.5, 4, 1, 2)).toEqual([2])
  })

  it("the gradient is a graph: finite differences (tie-free) and double backward through the scatter", () => {
    const x = tensor(Array.from({ length: 2 * 7 * 7 }, (_, i) => ((i * 37) % 97) / 10), [1, 2, 7, 7], "float64")
    const samples = tensor([0.2, 0.6, 0.9, 0.1], [1, 2, 2], "float64")
    const r = checkGradients(({ x, samples }) => fractionalMaxPool2d(x, { kernel_size: 2, output_size: 4 }, { samples }).y, { x, samples }, { wrt: ["x"] })
    expect(r.ok, r.summary).toBe(true)
    // d/du sum(grad_x(sum(y * u)) * v) = v gathered at the argmax
    const b = new GraphBuilder({ dtype: "float64" })
    const xv = b.input("x", x.shape)
    const u = b.input("u", [1, 2, 4, 4])
    const v = b.input("v", x.shape)
    const p = fractionalMaxPool2d(xv, { kernel_size: 2, output_size: 4 }, { samples: b.input("samples", [1, 2, 2]) })
    const [gx] = gradValues(b, sum(mul(p.y, u)), [xv])
    const [gu] = gradValues(b, sum(mul(gx, v)), [u])
    const vt = tensor(Array.from({ length: 98 }, (_, i) => i), x.shape, "float64")
    const [idx, guT] = compile(b.graph, [p.indices, gu]).run({ x, u: tensor(new Array(32).fill(1), [1, 2, 4, 4], "float64"), v: vt, samples })
    expect([...guT.data]).toEqual([...idx.data].map((i, o) => vt.data[Math.floor(o / 16) * 49 + i]))
  })

  it("rejects configurations PyTorch rejects, naming the op", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    expect(() => fractionalMaxPool2d(b.input("x", [1, 1, 6, 6]), { kernel_size: 2, output_size: 6 })).toThrow(/fractional_max_pool2d: output size 6 with kernel 2/)
    expect(() => fractionalMaxPool3d(b.input("y", [1, 1, 6, 6, 6]), { kernel_size: 2, output_size: 5 })).toThrow(/output \+ kernel - 1 < input/)
    expect(() => fractionalMaxPool2d(b.input("z", [1, 1, 6, 6]), { kernel_size: 2 })).toThrow(/exactly one of output_size and output_ratio/)
  })

  it("seeded samples: the same seed gives the same windows; without samples or seed the grid is u = 0.5", () => {
    const b = new GraphBuilder({ dtype: "float64" })
    const x = b.input("x", [1, 3, 9, 9])
    const seed = b.input("seed", [], "int32")
    const a = fractionalMaxPool2d(x, { kernel_size: 2, output_size: 5 }, { seed })
    const half = fractionalMaxPool2d(x, { kernel_size: 2, output_size: 5 }, { samples: b.input("half", [1, 3, 2]) })
    const plain = fractionalMaxPool2d(x, { kernel_size: 2, output_size: 5 })
    const xv = tensor(Array.from({ length: 243 }, (_, i) => Math.sin(i)), [1, 3, 9, 9], "float64")
    const plan = compile(b.graph, [a.indices, half.indices, plain.indices])
    const run = (s: number) => plan.run({ x: xv, seed: tensor([s], [], "int32"), half: tensor(new Array(6).fill(0.5), [1, 3, 2], "float64") })
    expect([...run(7)[0].data]).toEqual([...run(7)[0].data])
    expect([...run(7)[0].data]).not.toEqual([...run(8)[0].data])
    expect([...run(7)[2].data]).toEqual([...run(7)[1].data])
  })
})
