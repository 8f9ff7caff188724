import { describe, expect, it } from "vitest"
import { runInBrowserSandbox } from "../helpers.ts"

// src/optim must run in a browser: bundle it for the browser platform (a Node built-in
// import fails the build) and take optimizer steps in a context without Node globals.
describe("browser-safe optim", () => {
  it("bundles for the browser; Adam + OneCycleLR + clipGradNorm run without Node globals", async () => {
    const result = await runInBrowserSandbox(
      `
          import { Adam, OneCycleLR, clipGradNorm } from "./src/optim/index.ts"
          const params = new Map([["w", { shape: [2], dtype: "float64", data: new Float64Array([1, 1]) }]])
          const grads = new Map([["w", { shape: [2], dtype: "float64", data: new Float64Array([3, 4]) }]])
          const opt = new Adam({ lr: 0.1, betas: [0.5, 0.5], eps: 0 })
          const sched = new OneCycleLR(opt, { max_lr: 1, total_steps: 4, div_factor: 10 })
          const norm = clipGradNorm(grads, 100)
          const lr = opt.lr
          opt.step(params, grads)
          sched.step()
          globalThis.result = { norm, lr, w: Array.from(params.get("w").data), hasProcess: typeof process !== "undefined" }
        `,
    )
    // |g| = 5 < 100: no clipping; lr = max_lr / div_factor = 0.1 (as the cos anneal rounds it);
    // Adam's first step moves each w by lr (eps 0)
    expect(result).toEqual({ norm: 5, lr: expect.closeTo(0.1, 15), w: [expect.closeTo(0.9, 15), expect.closeTo(0.9, 15)], hasProcess: false })
  })
})
