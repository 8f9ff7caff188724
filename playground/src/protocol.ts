/**
 * The messages between the page and the training worker. Plain data (structured clone);
 * big arrays travel as transferables. The worker never posts faster than
 * {@link PROGRESS_INTERVAL_MS} for progress, so the page's main thread stays free.
 */
import type { Evaluation, LayerActivation, Position, RoutingView, Tie, TrainConfig } from "./session.ts"

/** The worker posts progress at most this often (4 per second). */
export const PROGRESS_INTERVAL_MS = 250
/** Test accuracy (and the digit views) are refreshed every this many steps. */
export const EVAL_EVERY_STEPS = 100
/** The run is saved to IndexedDB every this many steps (and on pause). */
export const SAVE_EVERY_STEPS = 500
/** The worker trains for about this long before it looks at its messages again. */
export const SLICE_MS = 40

/** Page -> worker. */
export type Command =
  | {
      readonly type: "init"
      readonly config: TrainConfig
      readonly dataUrl: string
      readonly restore: boolean
      /** Threads to train with: 1 is this worker alone; more starts a pool (cross-origin isolated pages only). */
      readonly threads: number
    }
  | { readonly type: "start" }
  | { readonly type: "pause" }
  | { readonly type: "reset"; readonly config: TrainConfig }
  | { readonly type: "set-lr"; readonly lr: number }
  | { readonly type: "set-tie"; readonly tie: Tie }
  | { readonly type: "inspect"; readonly index: number; readonly tie: Tie }
  | { readonly type: "predict"; readonly pixels: Float32Array }
  | { readonly type: "export" }
  | { readonly type: "import"; readonly bytes: Uint8Array; readonly name: string }

/** A point of a curve: x = step. */
export type Point = readonly [number, number]

/** Worker -> page. */
export type Report =
  | { readonly type: "loading"; readonly loaded: number; readonly total: number }
  | {
      readonly type: "ready"
      readonly config: TrainConfig
      readonly position: Position
      readonly restored: boolean
      readonly trainCount: number
      readonly testCount: number
      /** Threads the kernels use (1 without a pool). */
      readonly threads: number
    }
  | { readonly type: "running"; readonly running: boolean }
  | {
      readonly type: "progress"
      readonly step: number
      readonly epoch: number
      /** Mean training loss of the steps since the last report. */
      readonly loss: number
      /** Training images per second since the last start/resume (steps only, evaluation excluded). */
      readonly imagesPerSecond: number
      /** (step, mean loss) points since the last report. */
      readonly lossPoints: readonly Point[]
    }
  | { readonly type: "evaluation"; readonly evaluation: Evaluation }
  | { readonly type: "filters"; readonly shape: readonly number[]; readonly data: Float32Array }
  | {
      readonly type: "inspection"
      readonly index: number
      readonly label: number
      readonly activations: readonly LayerActivation[]
      readonly routing: readonly RoutingView[]
    }
  | { readonly type: "prediction"; readonly probabilities: Float64Array; readonly predicted: number }
  | { readonly type: "checkpoint"; readonly bytes: Uint8Array; readonly step: number }
  | { readonly type: "loaded"; readonly name: string; readonly config: TrainConfig; readonly position: Position }
  | { readonly type: "error"; readonly message: string }

const COMMANDS: readonly Command["type"][] = ["init", "start", "pause", "reset", "set-lr", "set-tie", "inspect", "predict", "export", "import"]

/**
 * Checks the shape of a message the worker received (it came from another realm: trust
 * nothing). Returns it typed, or throws a TypeError naming what was wrong.
 */
export function parseCommand(raw: unknown): Command {
  if (typeof raw !== "object" || raw === null || !("type" in raw)) throw new TypeError(`worker message ${JSON.stringify(raw)} (expected { type, ... })`)
  const type = (raw as { type: unknown }).type
  if (!(COMMANDS as readonly unknown[]).includes(type)) throw new TypeError(`worker message type ${JSON.stringify(type)} (expected one of ${COMMANDS.join(", ")})`)
  const m = raw as { [k: string]: unknown }
  if (type === "predict" && !(m.pixels instanceof Float32Array)) throw new TypeError("predict: pixels must be a Float32Array of 784 values")
  if (type === "import" && !(m.bytes instanceof Uint8Array)) throw new TypeError("import: bytes must be a Uint8Array")
  if (type === "init" && !(Number.isInteger(m.threads) && (m.threads as number) >= 1)) throw new TypeError(`init: threads ${JSON.stringify(m.threads)} (expected an integer >= 1)`)
  if (type === "inspect" && !Number.isInteger(m.index)) throw new TypeError(`inspect: index ${JSON.stringify(m.index)} (expected an integer)`)
  return raw as Command
}

/**
 * Lets an action through at most once per `intervalMs` of the given clock.
 *
 * @example
 * const gate = new RateGate(250, () => performance.now())
 * if (gate.ready()) post(progress)
 */
export class RateGate {
  private last = -Infinity

  constructor(
    readonly intervalMs: number,
    private readonly now: () => number,
  ) {}

  /** True (and the gate closes for `intervalMs`) when the interval has passed. */
  ready(): boolean {
    const t = this.now()
    if (t - this.last < this.intervalMs) return false
    this.last = t
    return true
  }

  /** Lets the next call through. */
  open(): void {
    this.last = -Infinity
  }
}

/** The arrays a report can hand over without copying. */
export function transferablesOf(report: Report): Transferable[] {
  switch (report.type) {
    case "filters":
      return [report.data.buffer]
    case "checkpoint":
      return [report.bytes.buffer]
    case "prediction":
      return [report.probabilities.buffer]
    case "inspection":
      return report.activations.map((a) => a.data.buffer)
    default:
      return []
  }
}
