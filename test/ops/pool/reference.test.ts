// Every pooling op against a brute-force reference written straight from the semantics in
// ../shared/golden/README.md (PyTorch's loops, not our window tables): per output position,
// enumerate the window's positions in row-major order, skip padding, apply the scan rule.
// Random configs in 1-3 d, tie-heavy data with NaN and infinities; values, indices and
// gradients must agree exactly (indices) or to rounding (values).
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveAvgPool3d, adaptiveMaxPool1dWithIndices, adaptiveMaxPool2dWithIndices, adaptiveMaxPool3dWithIndices, avgPool1d, avgPool2d, avgPool3d, gradValues, maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices, mul, sum, tensor, type Tensor } from "../../../src/index.ts"
import { poolConfigArb, type PoolConfig } from "../../../src/testing/arbitraries.ts"
import { sizeOf, stridesOf } from "../../../src/tensor/shape.ts"
import { run } from "./helpers.ts"

/** Cartesian product of per-dim position lists, row-major (last dim fastest). */
function product(lists: number[][]): number[][] {
  return lists.reduce<number[][]>((acc, l) => acc.flatMap((prefix) => l.map((v) => [...prefix, v])), [[]])
}

function outputPositions(out: number[]): number[][] {
  return product(out.map((n) => Array.from({ length: n }, (_, i) => i)))
}

type Windows = (o: number[]) => { positions: number[][]; divisor: number }

/** y, argmax and the gradient of sum(y * u) by brute force, plane by plane. */
// (A window with no in-bounds element, possible only with dilation, yields -inf and -1:
// our documented choice; PyTorch reports an index outside the window there.)
function referenceMax(x: Tensor, out: number[], windowOf: Windows, u: Float64Array) {
  const spatial = x.shape.slice(2)
  const strides = stridesOf(spatial)
  const planes = x.shape[0] * x.shape[1]
  const inPlane = sizeOf(spatial)
  const y: number[] = []
  const idx: number[] = []
  const gx = new Float64Array(x.data.length)
  let k = 0
  for (let p = 0; p < planes; p++) {
    for (const o of outputPositions(out)) {
      let maxval = -Infinity
      let maxidx = -1
      for (const pos of windowOf(o).positions) {
        const flat = pos.reduce((s, v, i) => s + v * strides[i], 0)
        const val = x.data[p * inPlane + flat]
        if (maxidx < 0) maxidx = flat // PyTorch starts at the first in-bounds element
        if (val > maxval || Number.isNaN(val)) {
          maxval = val
          maxidx = flat
        }
      }
      y.push(maxval)
      idx.push(maxidx)
      if (maxidx >= 0) gx[p * inPlane + maxidx] += u[k]
      k++
    }
  }
  return { y, idx, gx }
}

function referenceAvg(x: Tensor, out: number[], windowOf: Windows, u: Float64Array) {
  const spatial = x.shape.slice(2)
  const strides = stridesOf(spatial)
  const planes = x.shape[0] * x.shape[1]
  const inPlane = sizeOf(spatial)
  const y: number[] = []
  const gx = new Float64Array(x.data.length)
  let k = 0
  for (let p = 0; p < planes; p++) {
    for (const o of outputPositions(out)) {
      const { positions, divisor } = windowOf(o)
      let s = 0
      for (const pos of positions) s += x.data[p * inPlane + pos.reduce((a, v, i) => a + v * strides[i], 0)]
      y.push(s / divisor)
      for (const pos of positions) gx[p * inPlane + pos.reduce((a, v, i) => a + v * strides[i], 0)] += u[k] / divisor
      k++
    }
  }
  return { y, gx }
}

/** README "Pooling window geometry" and "avg pooling", literally. */
function poolWindowsOf(c: PoolConfig, avg?: { countIncludePad: boolean; override: number | null }): Windows {
  const L = c.inputShape.slice(2)
  const { kernel_size: k, stride: s, padding: p, dilation: d } = c.attrs
  return (o) => {
    const perDim = o.map((oi, i) => Array.from({ length: k[i] }, (_, j) => oi * s[i] - p[i] + j * d[i]).filter((v) => v >= 0 && v < L[i]))
    let divisor = 1
    if (avg !== undefined) {
      const poolSize = o.map((oi, i) => Math.min(oi * s[i] - p[i] + k[i], L[i] + p[i]) - (oi * s[i] - p[i]))
      divisor = avg.override ?? (avg.countIncludePad ? poolSize.reduce((a, b) => a * b, 1) : perDim.reduce((a, l) => a * l.length, 1))
    }
    return { positions: product(perDim), divisor }
  }
}

function adaptiveWindowsOf(L: number[], out: number[]): Windows {
  return (o) => {
    const perDim = o.map((i, dim) => {
      const start = Math.floor((i * L[dim]) / out[dim])
      const end = Math.ceil(((i + 1) * L[dim]) / out[dim])
      return Array.from({ length: end - start }, (_, j) => start + j)
    })
    return { positions: product(perDim), divisor: perDim.reduce((a, l) => a * l.length, 1) }
  }
}

const valueArb = fc.oneof({ weight: 20, arbitrary: fc.integer({ min: -2, max: 2 }) }, fc.constantFrom(NaN, Infinity, -Infinity))
const dataArb = (shape: number[], special: boolean) =>
  fc.array(special ? valueArb : fc.integer({ min: -2, max: 2 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) }).map((v) => tensor(v, shape, "float64"))

const same = (got: ArrayLike<number>, want: ArrayLike<number>, what: string): void => {
  expect(got.length, what).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]]
    if (Number.isNaN(w) || !Number.isFinite(w)) expect(String(g), `${what}[${i}]`).toBe(String(w))
    else expect(Math.abs(g - w), `${what}[${i}] = ${g} (expected ${w})`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(w)))
  }
}

const maxWithIndices = { 1: maxPool1dWithIndices, 2: maxPool2dWithIndices, 3: maxPool3dWithIndices } as const
const avgOps = { 1: avgPool1d, 2: avgPool2d, 3: avgPool3d } as const
const adaptiveMax = { 1: adaptiveMaxPool1dWithIndices, 2: adaptiveMaxPool2dWithIndices, 3: adaptiveMaxPool3dWithIndices } as const
const adaptiveAvg = { 1: adaptiveAvgPool1d, 2: adaptiveAvgPool2d, 3: adaptiveAvgPool3d } as const

for (const dims of [1, 2, 3] as const) {
  const configs = poolConfigArb(dims, { maxBatch: 2, maxChannels: 2, maxExtra: dims === 3 ? 2 : 4 })
  describe(`${dims}-d pooling equals the brute-force reference`, () => {
    it(`max_pool${dims}d: values, indices (ties, NaN, -inf) and gradients`, () => {
      fc.assert(
        fc.property(
          configs.chain((c) => fc.tuple(fc.constant(c), dataArb(c.inputShape, true))),
          ([c, x]) => {
            const [y, idx] = run((v) => {
              const r = maxWithIndices[dims](v.x, c.attrs)
              return [r.y, r.indices]
            }, { x })
            const out = y.shape.slice(2)
            const u = Float64Array.from({ length: y.data.length }, (_, i) => (i % 7) - 3)
            const ref = referenceMax(x, out, poolWindowsOf(c), u)
            same(y.data, ref.y, "y")
            expect(Array.from(idx.data)).toEqual(ref.idx)
            const [gx] = run((v) => gradValues(v.x.builder, sum(mul(maxWithIndices[dims](v.x, c.attrs).y, v.u)), [v.x]), { x, u: tensor(u, y.shape, "float64") })
            same(gx.data, ref.gx, "gx")
          },
        ),
        { numRuns: dims === 3 ? 40 : 150 },
      )
    })

    it(`avg_pool${dims}d: count_include_pad, divisor_override, ceil_mode windows past the padding`, () => {
      const extra = fc.record({ countIncludePad: fc.boolean(), override: fc.constantFrom(null, 1, 2, -3) })
      fc.assert(
        fc.property(
          configs.map((c) => ({ ...c, attrs: { ...c.attrs, dilation: c.attrs.dilation.map(() => 1) } })).chain((c) => fc.tuple(fc.constant(c), dataArb(c.inputShape, false), extra)),
          ([c, x, e]) => {
            const { dilation: _, ...a } = c.attrs
            const attrs = { ...a, count_include_pad: e.countIncludePad, divisor_override: e.override }
            let y: Tensor
            try {
              ;[y] = run((v) => avgOps[dims](v.x, attrs), { x })
            } catch {
              return // the kernel does not fit without dilation's help: nothing to compare
            }
            const out = y.shape.slice(2)
            const u = Float64Array.from({ length: y.data.length }, (_, i) => (i % 5) - 2)
            const ref = referenceAvg(x, out, poolWindowsOf(c, e), u)
            same(y.data, ref.y, "y")
            const [gx] = run((v) => gradValues(v.x.builder, sum(mul(avgOps[dims](v.x, attrs), v.u)), [v.x]), { x, u: tensor(u, y.shape, "float64") })
            same(gx.data, ref.gx, "gx")
          },
        ),
        { numRuns: dims === 3 ? 40 : 150 },
      )
    })

    it(`adaptive_max_pool${dims}d and adaptive_avg_pool${dims}d`, () => {
      const arb = fc.record({
        spatial: fc.array(fc.integer({ min: 1, max: dims === 3 ? 4 : 7 }), { minLength: dims, maxLength: dims }),
        out: fc.array(fc.integer({ min: 1, max: dims === 3 ? 4 : 8 }), { minLength: dims, maxLength: dims }),
      })
      fc.assert(
        fc.property(
          arb.chain((a) => fc.tuple(fc.constant(a), dataArb([2, 1, ...a.spatial], true))),
          ([a, x]) => {
            const u = Float64Array.from({ length: 2 * sizeOf(a.out) }, (_, i) => (i % 7) - 3)
            const ut = tensor(u, [2, 1, ...a.out], "float64")
            const [y, idx, gx] = run((v) => {
              const r = adaptiveMax[dims](v.x, a.out)
              return [r.y, r.indices, ...gradValues(v.x.builder, sum(mul(r.y, v.u)), [v.x])]
            }, { x, u: ut })
            const ref = referenceMax(x, a.out, adaptiveWindowsOf(a.spatial, a.out), u)
            same(y.data, ref.y, "y")
            expect(Array.from(idx.data)).toEqual(ref.idx)
            same(gx.data, ref.gx, "gx")
            const finite = tensor(Array.from(x.data, (v) => (Number.isFinite(v) ? v : 1)), x.shape, "float64")
            const [ya, ga] = run((v) => {
              const y = adaptiveAvg[dims](v.x, a.out)
              return [y, ...gradValues(v.x.builder, sum(mul(y, v.u)), [v.x])]
            }, { x: finite, u: ut })
            const refA = referenceAvg(finite, a.out, adaptiveWindowsOf(a.spatial, a.out), u)
            same(ya.data, refA.y, "adaptive avg y")
            same(ga.data, refA.gx, "adaptive avg gx")
          },
        ),
        { numRuns: dims === 3 ? 40 : 150 },
      )
    })
  })
}
