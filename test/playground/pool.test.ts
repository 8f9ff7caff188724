import { describe, expect, it } from "vitest"
import { parallelTasks } from "../../src/exec/parallel.ts"
import { runJob, startBrowserPool } from "../../playground/src/pool.ts"

describe("browser worker pool", () => {
  it("a helper runs its part on shared memory and counts itself done", () => {
    parallelTasks.set("test.fill-range", ({ arrays: [out], numbers: [from, to, value] }) => {
      for (let i = from; i < to; i++) out[i] = value
    })
    const out = new Float32Array(new SharedArrayBuffer(4 * 6))
    const control = new Int32Array(new SharedArrayBuffer(8))
    const errorText = new Uint8Array(new SharedArrayBuffer(64))
    runJob({ task: "test.fill-range", arrays: [out], numbers: [2, 5, 7] }, control, errorText)
    expect([...out]).toEqual([0, 0, 7, 7, 7, 0])
    expect([...control]).toEqual([1, 0])
  })

  it("a failing part sets the error flag and message, and still counts as done (no hang)", () => {
    parallelTasks.set("test.throws", () => {
      throw new Error("kernel exploded")
    })
    const control = new Int32Array(new SharedArrayBuffer(8))
    const errorText = new Uint8Array(new SharedArrayBuffer(64))
    runJob({ task: "test.throws", arrays: [], numbers: [] }, control, errorText)
    runJob({ task: "no.such.task", arrays: [], numbers: [] }, control, errorText)
    expect([...control]).toEqual([2, 1])
    const message = (): string => new TextDecoder().decode(errorText.slice(0, errorText.indexOf(0)))
    expect(message()).toBe("no parallel task named 'no.such.task'")
    runJob({ task: "test.throws", arrays: [], numbers: [] }, control, errorText)
    expect(message()).toBe("kernel exploded")
  })

  it("is not started outside a cross-origin isolated page, or for one thread", async () => {
    const never = (): Worker => {
      throw new Error("no worker should be made")
    }
    expect(await startBrowserPool(2, never)).toBeUndefined() // Node: crossOriginIsolated is undefined
    expect(await startBrowserPool(1, never)).toBeUndefined()
  })
})
