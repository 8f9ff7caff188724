// The --rounds arithmetic of the benchmark runner (bench/lib/rounds.ts): which process runs
// when, and how per-round medians become the reported figure.
import { describe, expect, it } from "vitest"
import { combineRounds, roundSchedule, roundsTable } from "../../bench/lib/rounds.ts"
import type { Measurement } from "../../bench/lib/harness.ts"

const order = (runs: ReturnType<typeof roundSchedule>): string[] => runs.map((r) => (r.system === "dagrad" ? `d${r.round}` : r.system))

const m = (workload: "W1" | "W4", threads: number, medianMs: number, minMs: number, maxMs: number, iterations = 20): Measurement => ({
  system: "dagrad",
  workload,
  threads,
  iterations,
  medianMs,
  minMs,
  maxMs,
  itemsPerS: 0,
})

describe("roundSchedule", () => {
  it("runs every system once, dagrad first, with one round (the run's old order)", () => {
    expect(order(roundSchedule(["dagrad", "tfjs-cpu", "convnetjs"], 1))).toEqual(["d1", "tfjs-cpu", "convnetjs"])
  })
  it("spreads dagrad's rounds between the other systems", () => {
    expect(order(roundSchedule(["dagrad", "tfjs-cpu", "convnetjs"], 2))).toEqual(["d1", "tfjs-cpu", "convnetjs", "d2"])
    expect(order(roundSchedule(["dagrad", "tfjs-cpu", "convnetjs"], 3))).toEqual(["d1", "tfjs-cpu", "d2", "convnetjs", "d3"])
    expect(order(roundSchedule(["dagrad", "tfjs-cpu", "convnetjs"], 5))).toEqual(["d1", "d2", "tfjs-cpu", "d3", "d4", "convnetjs", "d5"])
  })
  it("runs the rounds back to back when dagrad is alone, and the others once without dagrad", () => {
    expect(order(roundSchedule(["dagrad"], 3))).toEqual(["d1", "d2", "d3"])
    expect(order(roundSchedule(["tfjs-cpu", "convnetjs"], 3))).toEqual(["tfjs-cpu", "convnetjs"])
  })
  it("rejects a round count that is not a positive integer", () => {
    expect(() => roundSchedule(["dagrad"], 0)).toThrow(/positive integer/)
    expect(() => roundSchedule(["dagrad"], 1.5)).toThrow(/positive integer/)
  })
})

describe("combineRounds", () => {
  it("takes the median of the rounds' medians, min and max over all rounds, iterations summed", () => {
    const rounds = [
      [m("W1", 1, 54, 50, 70), m("W1", 2, 33, 30, 40)],
      [m("W1", 1, 41, 39, 52), m("W1", 2, 25, 21, 41)],
      [m("W1", 1, 56, 53, 60), m("W1", 2, 31, 29, 45)],
    ]
    const [one, two] = combineRounds(rounds)
    expect([one.workload, one.threads, one.medianMs, one.minMs, one.maxMs, one.iterations]).toEqual(["W1", 1, 54, 39, 70, 60])
    expect([two.threads, two.medianMs, two.minMs, two.maxMs]).toEqual([2, 31, 21, 45])
    // W1 is 64 images per step
    expect(one.itemsPerS).toBeCloseTo(64 / 0.054, 6)
  })
  it("averages the two middle medians of an even number of rounds, and skips rounds missing a case", () => {
    const [w1, w4] = combineRounds([[m("W1", 1, 50, 49, 51), m("W4", 2, 40, 38, 44)], [m("W1", 1, 54, 52, 60)]])
    expect(w1.medianMs).toBe(52)
    expect([w4.workload, w4.medianMs, w4.iterations]).toEqual(["W4", 40, 20])
  })
})

describe("roundsTable", () => {
  it("lists every round's median, their median, the spread and the calibration", () => {
    const rounds = [[m("W1", 1, 40, 39, 41)], [m("W1", 1, 50, 48, 52)]]
    const text = roundsTable(rounds, combineRounds(rounds), [5.01, 3.9])
    const [head, , row, cal] = text.split("\n")
    expect(head.split(/\s{2,}/)).toEqual(["workload", "threads", "round 1", "round 2", "median", "spread"])
    expect(row.split(/\s+/)).toEqual(["W1", "1", "40.00", "50.00", "45.00", "25.0%"])
    expect(cal.split(/\s+/)).toEqual(["calibration", "GFLOP/s", "5.01", "3.90"])
  })
})
