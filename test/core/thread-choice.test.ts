// The load-aware thread choice: measured, then the faster count, with periodic probes.
import { describe, expect, it } from "vitest"
import { ThreadChooser } from "../../src/exec/thread-choice.ts"

/** Runs `runs` choices against fixed per-count times and returns the counts chosen. */
function simulate(chooser: ThreadChooser, runs: number, msFor: (threads: number) => number): number[] {
  const chosen: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = chooser.next(2)
    chosen.push(t)
    chooser.record(t, msFor(t))
  }
  return chosen
}

describe("ThreadChooser", () => {
  it("measures both counts three times, then keeps the faster, probing the other every 16th run", () => {
    const c = new ThreadChooser(5, 16)
    const chosen = simulate(c, 70, (t) => (t === 2 ? 30 : 38))
    expect(chosen.slice(0, 6)).toEqual([2, 2, 2, 1, 1, 1])
    const after = chosen.slice(6)
    expect(after.filter((t) => t === 1).length).toBe(4) // runs 16, 32, 48, 64 of the steady phase
    expect(c.preferred(2)).toBe(2)
  })

  it("moves to one thread when two get slower (the other core busy) and back when they recover", () => {
    const c = new ThreadChooser(5, 4)
    let busy = false
    const ms = (t: number): number => (t === 2 ? (busy ? 40 : 20) : 30)
    simulate(c, 20, ms)
    expect(c.preferred(2)).toBe(2)
    busy = true
    const during = simulate(c, 60, ms)
    expect(during.slice(-12).filter((t) => t === 1).length).toBeGreaterThanOrEqual(9)
    expect(c.preferred(2)).toBe(1)
    busy = false
    simulate(c, 60, ms)
    expect(c.preferred(2)).toBe(2)
  })

  it("always answers 1 without a pool", () => {
    expect(new ThreadChooser().next(1)).toBe(1)
  })
})
