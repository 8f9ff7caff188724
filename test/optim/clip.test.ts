import { describe, expect, it } from "vitest"
import { AttrError, KernelError, tensor, type Tensor } from "../../src/index.ts"
import { clipGradNorm, clipGradValue } from "../../src/optim/index.ts"

const f64 = (values: number[]): Tensor => tensor(values, [values.length], "float64")
/** Gradients a = [3, 4] (L2 norm 5) and b = [12]: total L2 norm sqrt(25 + 144) = 13. */
const grads = (): Map<string, Tensor> => new Map([["a", f64([3, 4])], ["b", f64([12])]])
const flat = (g: Map<string, Tensor>): number[] => [...g.values()].flatMap((t) => Array.from(t.data))

describe("clipGradNorm, hand-worked", () => {
  it("L2: total = 13; every gradient times max_norm / (total + 1e-6)", () => {
    const g = grads()
    expect(clipGradNorm(g, 6.5)).toBe(13)
    const coef = 6.5 / (13 + 1e-6)
    expect(flat(g)).toEqual([3 * coef, 4 * coef, 12 * coef])
  })

  it("the 1e-6 matters: max_norm = total still scales by slightly less than 1", () => {
    const g = grads()
    clipGradNorm(g, 13)
    expect(flat(g)[2]).toBe(12 * (13 / (13 + 1e-6)))
    expect(flat(g)[2]).toBeLessThan(12)
  })

  it("a norm under max_norm leaves the gradients as they are (coef clamped to 1) and is still returned", () => {
    const g = grads()
    expect(clipGradNorm(g, 100)).toBe(13)
    expect(flat(g)).toEqual([3, 4, 12])
  })

  it("L1 sums |g|, p = 3 is the 3-norm of the per-tensor 3-norms, Infinity is max |g|", () => {
    expect(clipGradNorm(grads(), 100, { normType: 1 })).toBe(19)
    expect(clipGradNorm(grads(), 100, { normType: 3 })).toBeCloseTo(Math.cbrt(27 + 64 + 1728), 12)
    const g = new Map([["a", f64([3, -40])], ["b", f64([12])]])
    expect(clipGradNorm(g, 4, { normType: Infinity })).toBe(40)
    expect(flat(g)[1]).toBeCloseTo(-4, 6)
  })

  it("a list of tensors works too; no gradients give 0; a non-finite norm can be an error", () => {
    expect(clipGradNorm([f64([3]), f64([4])], 1)).toBe(5)
    expect(clipGradNorm([], 1)).toBe(0)
    expect(() => clipGradNorm([f64([NaN])], 1, { errorIfNonfinite: true })).toThrow(KernelError)
    expect(() => clipGradNorm([f64([1])], 1, { normType: 0 })).toThrow(AttrError)
  })
})

describe("clipGradValue, hand-worked", () => {
  it("clamps each element into [-v, v]; NaN stays NaN", () => {
    const g = new Map([["a", f64([-3, 0.5, NaN, 2])]])
    clipGradValue(g, 1)
    expect(flat(g)).toEqual([-1, 0.5, NaN, 1])
  })
})
