// copyArray: the arena's boundary copies, split across threads when large and shared.
import { describe, expect, it } from "vitest"
import { copyArray, setParallelBackend } from "../../src/exec/parallel.ts"
import { standInBackend } from "../helpers.ts"

describe("copyArray", () => {
  it("splits a large copy into per-thread ranges that together copy every element", () => {
    const ranges: number[][] = []
    setParallelBackend(standInBackend({ onRun: (task, parts) => task === "exec.copy" && ranges.push(...parts.map((p) => [...p.numbers])) }))
    try {
      const n = (1 << 18) + 5
      const src = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7)
      const dst = new Float32Array(n).fill(NaN)
      copyArray(src, dst)
      // 257 blocks of 1024 elements: 128 blocks, then the other 129 (the last one short)
      expect(ranges).toEqual([[0, 131072], [131072, n]])
      expect(dst).toEqual(src)
      const ints = Int32Array.from({ length: n }, (_, i) => i - 3)
      const out = new Int32Array(n)
      copyArray(ints, out)
      expect(out).toEqual(ints)
    } finally {
      setParallelBackend(undefined)
    }
  })

  it("copies small arrays, and anything without a pool, in one piece", () => {
    const src = Float32Array.from([1, 2, 3])
    const dst = new Float32Array(3)
    copyArray(src, dst)
    expect(Array.from(dst)).toEqual([1, 2, 3])
  })
})
