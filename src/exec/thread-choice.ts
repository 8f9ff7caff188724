/**
 * Load-aware thread count for plan runs. Kernels give the same bits on 1 and N threads, so
 * the executor may pick either per run; two threads lose to one when the other core is
 * busy (another process, a browser tab), so the choice follows measured run times: each
 * candidate is run a few times, then the faster one (median of its last runs) is used,
 * and the other is re-measured once every `probeEvery` runs, so a change in load is seen.
 */
export class ThreadChooser {
  private readonly times = new Map<number, number[]>()
  private runs = 0

  /**
   * @param window run times kept per candidate (their median decides)
   * @param probeEvery every this many runs, the candidate not in use runs once
   */
  constructor(
    private readonly window = 5,
    private readonly probeEvery = 16,
  ) {}

  /** The thread count for the next run, out of 1 and `max`. */
  next(max: number): number {
    if (max <= 1) return 1
    const candidates = [max, 1]
    for (const c of candidates) if ((this.times.get(c)?.length ?? 0) < 3) return c
    this.runs++
    const best = this.preferred(max)
    return this.runs % this.probeEvery === 0 ? (best === 1 ? max : 1) : best
  }

  /** Records a run's wall time with `threads` threads. */
  record(threads: number, ms: number): void {
    const list = this.times.get(threads) ?? []
    list.push(ms)
    if (list.length > this.window) list.shift()
    this.times.set(threads, list)
  }

  /** The thread count the measurements favour now (`max` until both were measured). */
  preferred(max: number): number {
    if (max <= 1 || (this.times.get(1)?.length ?? 0) < 3 || (this.times.get(max)?.length ?? 0) < 3) return max
    return this.median(max) <= this.median(1) ? max : 1
  }

  private median(threads: number): number {
    const t = [...(this.times.get(threads) ?? [])].sort((a, b) => a - b)
    return t.length === 0 ? Infinity : t[t.length >> 1]
  }
}
