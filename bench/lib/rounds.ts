/**
 * `--rounds R`: dagrad measured R times, each time in a fresh process, spread over the run.
 *
 * Why: this project's machine is a shared VM whose speed drifts by 10-30 % over minutes
 * (bench/RESULTS.md). One process's median says which state it met as much as what the
 * code does; absolute targets near the edge (W1's 32 ms) then flip from run to run. The
 * median of R per-round medians, with every round's figure printed beside it, shows the
 * spread and is not decided by one stretch of the machine.
 */
import type { SystemName } from "./workloads.ts"
import { fmt, itemsPerSecond, median, table, type Measurement } from "./harness.ts"

/** One child process of a run: a system and, for dagrad, which of its rounds (from 1). */
export interface ScheduledRun {
  readonly system: SystemName
  readonly round: number
}

/**
 * The order of the run's child processes. With R rounds, dagrad's are spread between the
 * other systems rather than run back to back, so that a slow or fast stretch of the
 * machine lands on one round, not all: with systems [dagrad, tfjs-cpu, convnetjs] and
 * R = 3, dagrad 1, tfjs-cpu, dagrad 2, convnetjs, dagrad 3. Without dagrad (or R = 1)
 * the systems run once each in the order given.
 */
export function roundSchedule(systems: readonly SystemName[], rounds: number): ScheduledRun[] {
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`)
  const others = systems.filter((s) => s !== "dagrad")
  if (!systems.includes("dagrad")) return others.map((system) => ({ system, round: 1 }))
  const out: ScheduledRun[] = []
  // dagrad round r goes before the slot of anchor floor((r - 1) * A / (R - 1)) ...
  let next = 0
  for (let r = 1; r <= rounds; r++) {
    const upTo = rounds === 1 ? 0 : Math.floor(((r - 1) * others.length) / (rounds - 1))
    while (next < upTo) out.push({ system: others[next++], round: 1 })
    out.push({ system: "dagrad", round: r })
  }
  // ... and with R = 1 (or R - 1 > anchors) the remaining anchors follow the last round
  while (next < others.length) out.push({ system: others[next++], round: 1 })
  return out
}

/** Key of one measured case: (system, workload, threads). */
const caseKey = (m: Measurement): string => `${m.system}\u0000${m.workload}\u0000${m.threads}`

/**
 * One measurement per case from the rounds' measurements (`perRound[r]` holds round r's):
 * median = the median of the rounds' medians, min and max over every timed iteration of
 * every round, iterations summed. Cases appear in the order of their first round; a case
 * some round failed to measure is combined from the rounds that did.
 */
export function combineRounds(perRound: readonly (readonly Measurement[])[]): Measurement[] {
  const groups = new Map<string, Measurement[]>()
  for (const round of perRound) {
    for (const m of round) {
      const list = groups.get(caseKey(m))
      if (list === undefined) groups.set(caseKey(m), [m])
      else list.push(m)
    }
  }
  return [...groups.values()].map((ms) => {
    const medianMs = median(ms.map((m) => m.medianMs))
    const first = ms[0]
    return {
      system: first.system,
      workload: first.workload,
      threads: first.threads,
      iterations: ms.reduce((n, m) => n + m.iterations, 0),
      medianMs,
      minMs: Math.min(...ms.map((m) => m.minMs)),
      maxMs: Math.max(...ms.map((m) => m.maxMs)),
      itemsPerS: itemsPerSecond(first.workload, medianMs),
      ...(first.note === undefined ? {} : { note: first.note }),
    }
  })
}

/**
 * Every round's median per case, then their median (`combined`, from {@link combineRounds})
 * and spread (slowest round's median / fastest's - 1), and each round's calibration figure
 * (GFLOP/s measured just before it).
 */
export function roundsTable(perRound: readonly (readonly Measurement[])[], combined: readonly Measurement[], calibration: readonly number[]): string {
  const head = ["workload", "threads", ...perRound.map((_, r) => `round ${r + 1}`), "median", "spread"]
  const rows: string[][] = [head]
  for (const c of combined) {
    const medians = perRound.map((round) => round.find((m) => caseKey(m) === caseKey(c))?.medianMs)
    const seen = medians.filter((x): x is number => x !== undefined)
    rows.push([c.workload, String(c.threads), ...medians.map((x) => (x === undefined ? "-" : fmt(x))), fmt(c.medianMs), `${((Math.max(...seen) / Math.min(...seen) - 1) * 100).toFixed(1)}%`])
  }
  rows.push(["calibration", "GFLOP/s", ...perRound.map((_, r) => (calibration[r] === undefined ? "-" : calibration[r].toFixed(2))), "", ""])
  return table(rows)
}
