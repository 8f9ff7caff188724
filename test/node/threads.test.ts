import { describe, expect, it } from "vitest"
import { runBeside, threadCount } from "../../src/exec/parallel.ts"
import { startThreadPool } from "../../src/node/threads.ts"

// The thread pool's runBeside: a task on the worker while local code runs on this thread,
// which sees one thread meanwhile (the worker is busy). Uses the relu kernel's task, which
// every worker registers.
const TASK = "relu.pass_where_positive"
const relu = (v: number): number => (v <= 0 ? 0 : v)

describe("runBeside", () => {
  it("runs the task on a worker and the local code here, with one thread, then returns when both are done", async () => {
    const pool = await startThreadPool(2)
    try {
      const n = 4096
      const x = pool.allocShared("float32", n) as Float32Array
      for (let i = 0; i < n; i++) x[i] = Math.sin(i) * 3
      const out = pool.allocShared("float32", n) as Float32Array
      let threadsSeen = 0
      const local = new Float32Array(n)
      runBeside(TASK, { arrays: [x, x, out], numbers: [0, n] }, () => {
        threadsSeen = threadCount()
        for (let i = 0; i < n; i++) local[i] = relu(x[i])
      })
      expect(threadsSeen).toBe(1)
      expect(threadCount()).toBe(2)
      expect(Array.from(out)).toEqual(Array.from(x, relu))
      expect(Array.from(local)).toEqual(Array.from(x, relu))

      // a worker-side failure arrives with the task's message
      const ints = pool.allocShared("int32", 4)
      expect(() => runBeside(TASK, { arrays: [ints, ints, ints], numbers: [0, 4] }, () => {})).toThrow(/relu task: expected float32 arrays/)
      // a local failure arrives once the worker is done; the pool keeps working after both
      out.fill(7)
      expect(() =>
        runBeside(TASK, { arrays: [x, x, out], numbers: [0, n] }, () => {
          throw new Error("local side failed")
        }),
      ).toThrow("local side failed")
      expect(Array.from(out)).toEqual(Array.from(x, relu))
      out.fill(7)
      runBeside(TASK, { arrays: [x, x, out], numbers: [0, n] }, () => {})
      expect(Array.from(out)).toEqual(Array.from(x, relu))
    } finally {
      await pool.close()
    }
  })

  it("without a pool runs the task and then the local code on this thread", () => {
    const x = Float32Array.from([-1, 2, -0, 3])
    const out = new Float32Array(4)
    const order: string[] = []
    runBeside(TASK, { arrays: [x, x, out], numbers: [0, 4] }, () => order.push(`local after task: ${Array.from(out).join(" ")}`))
    expect(order).toEqual(["local after task: 0 2 0 3"])
  })
})
