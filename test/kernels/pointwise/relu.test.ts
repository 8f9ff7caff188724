import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { reluBackwardKernel, reluForward } from "../../../src/kernels/pointwise/relu.ts"

// The branch-free float32 kernels against the definition, written the obvious way.
const reluRef = (v: number): number => (v <= 0 ? 0 : v)
const reluBackwardRef = (g: number, v: number): number => (v <= 0 ? 0 : g)

const special = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38]
const sameBits = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))

/** Equal values, -0 and +0 told apart, any NaN equal to any NaN (arithmetic may change a NaN's payload). */
const sameValues = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (Number.isNaN(v) && Number.isNaN(b[i])))

function negativeNaN(): number {
  const f = new Float32Array(1)
  new Int32Array(f.buffer)[0] = 0xffc00001 | 0 // sign bit set, quiet NaN payload
  return f[0]
}

/** Any float32 bit pattern, with the special values (zeros, infinities, NaNs) often. */
const bitPattern = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 0x80000000 | 0, 0x7f800000, 0xff800000 | 0, 0x7fc00000, 0xffc00001 | 0, 1, 0x80000001 | 0, 0x7f7fffff, 0xff7fffff | 0),
)

describe("float32 relu kernels (branch-free)", () => {
  it("match the definition on special values (the gradient bit for bit), including -0, NaN, infinities, subnormals", () => {
    const xs = new Float32Array([...special, negativeNaN()])
    const ys = new Float32Array(xs.length)
    reluForward(xs, ys)
    const want = Float32Array.from(xs, reluRef)
    expect(sameValues(ys, want)).toBe(true)
    expect(Object.is(ys[1], 0)).toBe(true) // relu(-0) = +0

    // every (gy, x) pair of special values: gy's bits pass or become +0
    const n = xs.length
    const g = new Float32Array(n * n)
    const x = new Float32Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) [g[i * n + j], x[i * n + j]] = [xs[i], xs[j]]
    const out = new Float32Array(n * n)
    reluBackwardKernel(g, x, out)
    const ref = new Float32Array(n * n)
    for (let k = 0; k < n * n; k++) ref[k] = reluBackwardRef(g[k], x[k])
    expect(sameBits(out, ref)).toBe(true)
  })

  it("match the definition on arbitrary float32 bit patterns and offsets (views)", () => {
    fc.assert(
      fc.property(fc.array(bitPattern, { minLength: 1, maxLength: 40 }), fc.array(bitPattern, { minLength: 40, maxLength: 40 }), fc.nat(3), (xb, gb, offset) => {
        const n = xb.length
        const xBuf = new Float32Array(n + 4)
        new Int32Array(xBuf.buffer).set(xb, offset)
        const x = xBuf.subarray(offset, offset + n)
        const g = new Float32Array(new Int32Array(gb.slice(0, n)).buffer)
        const y = new Float32Array(n)
        reluForward(x, y)
        const out = new Float32Array(n)
        reluBackwardKernel(g, x, out)
        const yRef = Float32Array.from(x, reluRef)
        const outRef = new Float32Array(n)
        for (let i = 0; i < n; i++) outRef[i] = reluBackwardRef(g[i], x[i])
        // values, not bits: the reference's float32 -> double -> float32 round trip quiets
        // signalling NaNs, which the kernel passes through untouched
        expect(sameValues(y, yRef)).toBe(true)
        expect(sameValues(out, outRef)).toBe(true)
      }),
    )
  })

  it("float64 arrays take the plain loops with the same semantics", () => {
    const x = Float64Array.from([...special, -5e-324, 5e-324, 1.7976931348623157e308])
    const y = new Float64Array(x.length)
    reluForward(x, y)
    expect([...y]).toEqual([...x].map(reluRef))
    const g = x.map((_, i) => i + 1)
    const out = new Float64Array(x.length)
    reluBackwardKernel(g, x, out)
    expect([...out]).toEqual([...x].map((v, i) => reluBackwardRef(g[i], v)))
  })
})
