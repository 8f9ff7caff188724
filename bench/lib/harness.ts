/** Timing, statistics and output formatting for the benchmark runner. */
import { cpus, loadavg, availableParallelism } from "node:os"
import { WORKLOAD_INFO, type BenchCase, type SystemName, type WorkloadId } from "./workloads.ts"

export interface MeasureOptions {
  /** Untimed iterations before measuring (JIT, buffer pools, TF.js kernels). */
  readonly warmup: number
  /**
   * Keep warming up until this much time (ms) has passed, whatever `warmup` says. V8
   * optimizes a function that runs once per step (a conv driver, the executor's op loop) only
   * after tens of steps, and each such compile takes 20-50 ms of CPU on a background thread:
   * with every core computing, it steals from a compute thread (dagrad W1 with 2 threads:
   * steps that saw an optimization took 43-63 ms, the others ~30; the last ones land around
   * step 30, `node --trace-opt`). Measuring starts at the steady state a training run lives in.
   */
  readonly warmupMs: number
  /** Target number of timed iterations. */
  readonly iterations: number
  /** Time budget per case (ms): slower cases run fewer iterations, never fewer than `minIterations`. */
  readonly budgetMs: number
  readonly minIterations: number
}

export interface Measurement {
  readonly system: SystemName
  readonly workload: WorkloadId
  readonly threads: number
  readonly iterations: number
  readonly medianMs: number
  readonly minMs: number
  readonly maxMs: number
  /** images/s (W1, W4), batch items/s (W2, W3), GFLOP/s (GEMM). */
  readonly itemsPerS: number
  readonly note?: string
}

/** A case's items/s (see Measurement.itemsPerS) at a median of `medianMs` per iteration. */
export function itemsPerSecond(workload: WorkloadId, medianMs: number): number {
  return WORKLOAD_INFO[workload].items / (medianMs / 1000)
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Minimum and median wall time (ms) of `runs` calls of `f` after `warmup` untimed ones. */
export function timeRuns(f: () => void, warmup: number, runs: number): { min: number; median: number } {
  for (let i = 0; i < warmup; i++) f()
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    f()
    ms.push(performance.now() - t0)
  }
  return { min: Math.min(...ms), median: median(ms) }
}

/**
 * Times `c.step()`: untimed runs until there were `warmup` of them and `warmupMs` have
 * passed (stopping early once one run alone takes over a tenth of the budget), then timed
 * runs until `iterations` are done or the budget is spent, but never fewer than
 * `minIterations`.
 */
export function measure(c: BenchCase, o: MeasureOptions): Measurement {
  const warmupStart = performance.now()
  for (let i = 0; i < o.warmup || performance.now() - warmupStart < o.warmupMs; i++) {
    const t0 = performance.now()
    c.step()
    if (performance.now() - t0 > o.budgetMs / 10) break
  }
  const times: number[] = []
  let spent = 0
  while (times.length < o.iterations) {
    const t0 = performance.now()
    c.step()
    const t = performance.now() - t0
    times.push(t)
    spent += t
    // stop when the next run would overrun the budget (estimated by the mean so far)
    if (times.length >= o.minIterations && spent + spent / times.length > o.budgetMs) break
  }
  return summarize(c, times)
}

/** The measurement of a case from its per-iteration times (ms); `threads` overrides the case's. */
export function summarize(c: Pick<BenchCase, "system" | "workload" | "threads" | "note">, times: readonly number[], threads = c.threads): Measurement {
  if (times.length === 0) throw new Error(`${c.system} ${c.workload}: no timed iterations`)
  const medianMs = median(times)
  return {
    system: c.system,
    workload: c.workload,
    threads,
    iterations: times.length,
    medianMs,
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    itemsPerS: itemsPerSecond(c.workload, medianMs),
    note: c.note,
  }
}

/** The JSON line of `--json`: exactly these keys. */
export function jsonLine(m: Measurement): string {
  const round = (x: number, digits: number): number => Number(x.toFixed(digits))
  return JSON.stringify({
    system: m.system,
    workload: m.workload,
    threads: m.threads,
    median_ms: round(m.medianMs, 4),
    min_ms: round(m.minMs, 4),
    max_ms: round(m.maxMs, 4),
    items_per_s: round(m.itemsPerS, 3),
  })
}

export interface MachineInfo {
  readonly nproc: number
  readonly cpuModel: string
  readonly node: string
  readonly load: string
}

export function machineInfo(): MachineInfo {
  const list = cpus()
  return {
    nproc: availableParallelism(),
    cpuModel: list[0]?.model ?? "unknown",
    node: process.version,
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  }
}

/** Formats a number with about 3-4 significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x)
  const a = Math.abs(x)
  if (a >= 1000) return x.toFixed(0)
  if (a >= 100) return x.toFixed(1)
  if (a >= 10) return x.toFixed(2)
  if (a >= 1) return x.toFixed(3)
  return x.toPrecision(3)
}

/** A plain-text table: first row is the header; numbers right-aligned. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => (r[j] ?? "").length)))
  const isNum = (s: string): boolean => /^[-+]?[\d.]+(x|e[-+]?\d+)?$/.test(s)
  const line = (r: readonly string[]): string =>
    r
      .map((cell, j) => (isNum(cell) ? cell.padStart(widths[j]) : cell.padEnd(widths[j])))
      .join("  ")
      .trimEnd()
  const [head, ...body] = rows
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n")
}

/** The results table: one row per measured case. */
export function resultsTable(ms: readonly Measurement[]): string {
  const rows: string[][] = [["system", "workload", "threads", "iters", "median ms", "min ms", "max ms", "items/s"]]
  for (const m of ms) {
    rows.push([m.system, m.workload, String(m.threads), String(m.iterations), fmt(m.medianMs), fmt(m.minMs), fmt(m.maxMs), fmt(m.itemsPerS)])
  }
  return table(rows)
}

/** Speed-up of each dagrad row over every other system on the same workload (their median / dagrad's), same thread count where it has one. */
export function speedupTable(ms: readonly Measurement[]): string | undefined {
  const others = [...new Set(ms.filter((m) => m.system !== "dagrad").map((m) => m.system))]
  const mine = ms.filter((m) => m.system === "dagrad")
  if (others.length === 0 || mine.length === 0) return undefined
  const rows: string[][] = [["workload", "dagrad threads", "dagrad median ms", ...others.map((s) => `vs ${s}`)]]
  for (const d of mine) {
    const cells = others.map((s) => {
      // the other system's row with the same thread count, else its 1-thread row
      const o =
        ms.find((m) => m.system === s && m.workload === d.workload && m.threads === d.threads) ?? ms.find((m) => m.system === s && m.workload === d.workload && m.threads === 1)
      return o === undefined ? "-" : `${fmt(o.medianMs / d.medianMs)}x`
    })
    rows.push([d.workload, String(d.threads), fmt(d.medianMs), ...cells])
  }
  return table(rows)
}
