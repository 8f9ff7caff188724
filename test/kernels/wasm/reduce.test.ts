// The WASM run sums (bias gradients, full sums) against float64 sums computed here, at
// float32 tolerance, through the sum op's kernel (sumToShape).
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { sumToShape } from "../../../src/kernels/pointwise/broadcast.ts"
import { setKernelBackend } from "../../../src/kernels/backend.ts"

describe("WASM run sums", () => {
  it("sum NCHW over N, H, W (a bias gradient) within float32 rounding of the float64 sum, accumulating onto out", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1e6 }), (n, c, hw, seed) => {
        let s = seed
        const x = Float32Array.from({ length: n * c * hw }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1)
        const out = Float32Array.from({ length: c }, (_, k) => k + 0.5)
        const want = Array.from({ length: c }, (_, k) => k + 0.5)
        const bound = Array.from({ length: c }, (_, k) => k + 0.5)
        for (let b = 0; b < n; b++) for (let k = 0; k < c; k++) for (let i = 0; i < hw; i++) {
          want[k] += x[(b * c + k) * hw + i]
          bound[k] += Math.abs(x[(b * c + k) * hw + i])
        }
        setKernelBackend("wasm")
        try {
          sumToShape(x, [n, c, 1, hw], out, [1, c, 1, 1])
        } finally {
          setKernelBackend(undefined)
        }
        for (let k = 0; k < c; k++) expect(Math.abs(out[k] - want[k])).toBeLessThanOrEqual((n * hw + 2) * 2 ** -23 * bound[k])
      }),
      { numRuns: 100 },
    )
  })
})
