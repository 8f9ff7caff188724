/**
 * Per-epoch progress: a live `cli-progress` bar on a terminal (when that optional peer
 * dependency is installed), plain periodic lines otherwise (CI logs, `> file`), so logs stay readable without carriage-return noise.
 */
import { createRequire } from "node:module"
import type cliProgress from "cli-progress"

/**
 * `cli-progress` is an optional peer dependency (the CLI's live bar): loaded only when a
 * live bar is wanted, so `dagrad/node` imports without it. Undefined when not installed.
 */
function loadCliProgress(): typeof cliProgress | undefined {
  try {
    return createRequire(import.meta.url)("cli-progress") as typeof cliProgress
  } catch {
    return undefined
  }
}

/** Live statistics shown with the progress. */
export interface ProgressStats {
  /** Running mean training loss of the epoch. */
  readonly loss: number
  /** Running training accuracy of the epoch, in [0, 1]. */
  readonly accuracy: number
  readonly imagesPerSecond: number
}

/** Where progress goes: any writable with an optional `isTTY` flag (process.stdout). */
export interface ProgressStream {
  /** Writes a chunk of text (no newline added). */
  write(chunk: string): unknown
  readonly isTTY?: boolean
}

/** Options of the {@link EpochProgress} constructor. */
export interface ProgressOptions {
  /** Number of steps (batches) in the epoch. */
  readonly total: number
  /** Shown first on each line, e.g. `epoch 2/5`. */
  readonly label: string
  readonly stream?: ProgressStream
  /** Force the live bar (true) or plain lines (false); default: the stream's `isTTY`. */
  readonly tty?: boolean
  /** Plain mode: print every this many percent of the epoch. Default 10. */
  readonly percentStep?: number
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${s}s`
}

/** The statistics part of a progress line: `loss 0.1234 | acc 96.10% | 850 img/s`. */
export function formatStats(stats: ProgressStats): string {
  return `loss ${stats.loss.toFixed(4)} | acc ${(stats.accuracy * 100).toFixed(2)}% | ${Math.round(stats.imagesPerSecond)} img/s`
}

/**
 * Progress of one epoch.
 *
 * @example
 * const p = new EpochProgress({ total: batches, label: "epoch 1/3" })
 * p.update(i + 1, { loss, accuracy, imagesPerSecond })
 * p.stop()
 */
export class EpochProgress {
  private readonly bar: cliProgress.SingleBar | undefined
  private readonly stream: ProgressStream
  private readonly started = performance.now()
  private readonly percentStep: number
  private nextPercent: number

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stdout
    this.percentStep = options.percentStep ?? 10
    this.nextPercent = this.percentStep
    // without cli-progress installed, a terminal gets the plain lines too
    const bars = options.tty ?? this.stream.isTTY === true ? loadCliProgress() : undefined
    if (bars !== undefined) {
      this.bar = new bars.SingleBar({
        format: `${options.label} {bar} {percentage}% | {value}/{total} | {stats} | ETA {eta_formatted}`,
        stream: this.stream as NodeJS.WritableStream,
        barsize: 24,
        hideCursor: true,
        etaBuffer: 50,
        // Training runs synchronously: redraw from update() rather than from a timer.
        synchronousUpdate: true,
        noTTYOutput: options.tty === true,
      })
      this.bar.start(options.total, 0, { stats: "" })
    }
  }

  /** Reports `done` steps of `total` with the latest stats: redraws the live bar, or prints a line each time another `percentStep` of the epoch has passed (and at the last step). */
  update(done: number, stats: ProgressStats): void {
    if (this.bar !== undefined) {
      this.bar.update(done, { stats: formatStats(stats) })
      return
    }
    const percent = (100 * done) / this.options.total
    if (percent + 1e-9 < this.nextPercent && done !== this.options.total) return
    while (this.nextPercent <= percent + 1e-9) this.nextPercent += this.percentStep
    this.stream.write(this.line(done, stats) + "\n")
  }

  /** Ends the live bar (plain mode always prints the line of the last step itself). */
  stop(): void {
    this.bar?.stop()
  }

  private line(done: number, stats: ProgressStats): string {
    const total = this.options.total
    const elapsed = (performance.now() - this.started) / 1000
    const eta = done > 0 ? (elapsed / done) * (total - done) : Number.NaN
    const pct = String(Math.floor((100 * done) / total)).padStart(3)
    return `${this.options.label} ${pct}% ${done}/${total} | ${formatStats(stats)} | ${done === total ? `took ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`}`
  }
}
