import { describe, expect, it } from "vitest"
import { runInBrowserSandbox } from "../helpers.ts"

// The engine core must run unchanged in a browser: bundle it for the browser platform (a
// Node built-in import fails the build) and run a small training graph in a bare V8
// context that has no `process`, `require`, `Buffer` or Node globals at all.
describe("browser-safe core", () => {
  it("bundles for the browser and trains in a context without Node globals", async () => {
    const result = await runInBrowserSandbox(
      `
          import { GraphBuilder, compile, gradValues, mul, sum, relu, tensor } from "./src/index.ts"
          const g = new GraphBuilder({ dtype: "float64" })
          const x = g.input("x", [4])
          const w = g.param("w", [4])
          const loss = sum(relu(mul(x, w)))
          const [dw] = gradValues(g, loss, [w])
          const plan = compile(g.graph, [loss, dw])
          const params = new Map([["w", tensor([1, -1, 2, 0.5], [4], "float64")]])
          const [l, d] = plan.run({ x: tensor([1, 2, 3, 4], [4], "float64") }, params)
          globalThis.result = { loss: l.data[0], dw: Array.from(d.data), hasProcess: typeof process !== "undefined" }
        `,
      { performance },
    )
    // relu(x*w) = [1, 0, 6, 2]: loss 9, dL/dw = x where x*w > 0
    expect(result).toEqual({ loss: 9, dw: [1, 0, 3, 4], hasProcess: false })
  })
})
