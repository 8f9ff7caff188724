// runInArena's staging path: what it copies back when a caller says which ranges it writes.
import { describe, expect, it } from "vitest"
import { runInArena } from "../../../src/kernels/wasm/module.ts"

describe("runInArena (operands outside any arena: staged copies)", () => {
  it("copies back only the written ranges, so another thread's writes elsewhere in the output survive", () => {
    const out = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    const ok = runInArena([], [out], 0, (arena, [at]) => {
      // the body writes every staged element...
      new Float32Array(arena.memory.buffer, at, 8).fill(-1)
      // ...while another thread writes its own part of the original
      out[0] = 99
      out[7] = 77
    }, false, [[2, 4], [5, 6]])
    expect(ok).toBe(true)
    expect(Array.from(out)).toEqual([99, 1, -1, -1, 4, -1, 6, 77])
  })

  it("copies the whole output back without ranges", () => {
    const out = new Float32Array(5)
    runInArena([Float32Array.from([1, 2, 3, 4, 5])], [out], 0, (arena, [x, y]) => {
      const heap = new Float32Array(arena.memory.buffer)
      for (let i = 0; i < 5; i++) heap[y / 4 + i] = 2 * heap[x / 4 + i]
    })
    expect(Array.from(out)).toEqual([2, 4, 6, 8, 10])
  })
})
