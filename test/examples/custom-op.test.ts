import { describe, expect, it } from "vitest"
import { main } from "../../examples/custom-op.ts"

describe("examples/custom-op.ts", () => {
  it("defines Swish with the public API: gradient and second derivative check, and it trains", () => {
    const r = main(() => {})
    expect(r.gradientOk).toBe(true)
    expect(r.secondOk).toBe(true)
    expect(r.lossEnd).toBeLessThan(r.lossStart / 100)
  })
})
