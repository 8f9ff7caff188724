/**
 * Learning-rate schedules as in `torch.optim.lr_scheduler` (PyTorch 1.13): each one
 * changes its optimizer's `paramGroups[i].lr` (and OneCycleLR the momentum or beta1) when
 * `step()` is called. Call `step()` after every optimizer step or after every epoch, as you
 * choose; the schedule counts whatever you step it by (PyTorch's `last_epoch`). Like
 * PyTorch's, the chainable schedules compute each lr from the group's current lr (the
 * recursive form), so chained schedules multiply and the numbers match PyTorch's.
 */
import { AttrError, FormatError } from "../errors.ts"
import type { JsonValue } from "../io/checkpoint.ts"
import { aliased, type Optimizer } from "./optimizer.ts"

/** A schedule's checkpoint state (plain JSON). */
export type SchedulerState = { readonly type: string; readonly [key: string]: JsonValue }

/** What the Trainer and the CLI need from a learning-rate schedule. */
export interface LRScheduler {
  readonly optimizer: Optimizer
  /** Number of steps taken since construction (PyTorch's last_epoch; 0 right after construction). */
  readonly lastEpoch: number
  /** Advances the schedule by one step (or epoch) and sets the optimizer's lr. */
  step(): void
  /** The lr of every group as last set by this schedule (PyTorch's get_last_lr()). */
  getLastLr(): readonly number[]
  /** The schedule's state as plain JSON, for a checkpoint (PyTorch's state_dict()). */
  stateDict(): SchedulerState
  /** Restores a state saved by {@link stateDict}; load the optimizer's state too (it holds the current lr). */
  loadStateDict(state: SchedulerState): void
}

const num = (who: string, o: object, camel: string, snake: string, fallback?: number): number => {
  const v = aliased<unknown>(who, o, camel, snake) ?? fallback
  if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`${who}: ${snake} = ${JSON.stringify(v)} (expected a finite number)`)
  return v
}

const int = (who: string, o: object, camel: string, snake: string, min: number, fallback?: number): number => {
  const v = num(who, o, camel, snake, fallback)
  if (!Number.isInteger(v) || v < min) throw new AttrError(`${who}: ${snake} = ${v} (expected an integer >= ${min})`)
  return v
}

/**
 * The machinery shared by the schedules (PyTorch's `LRScheduler` base): on construction it
 * records each group's initial lr (`initialLr`, PyTorch's `initial_lr`) as the base lr and
 * takes the initial step (last_epoch 0); `step()` advances last_epoch and writes the lrs
 * that {@link getLr} computes.
 */
export abstract class LRSchedulerBase implements LRScheduler {
  abstract readonly type: string
  lastEpoch = -1
  /** Steps taken, the initial one included (PyTorch's _step_count). */
  protected stepCount = 0
  readonly baseLrs: number[]
  private lastLrs: number[] = []

  constructor(readonly optimizer: Optimizer) {
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!)
  }

  /** The lrs of step `lastEpoch`, from the groups' current lrs (PyTorch's get_lr). */
  protected abstract getLr(): number[]

  /** The lrs of step `lastEpoch` in closed form, for schedules that have one. */
  protected closedFormLr(): number[] | undefined {
    return undefined
  }

  /** PyTorch's `_initial_step`: reset the count and step to last_epoch 0. Subclasses call it last in their constructor. */
  initialStep(): void {
    this.stepCount = 0
    this.step()
  }

  /**
   * Advances to the next step, or (PyTorch's deprecated `step(epoch)`, which SequentialLR
   * uses) jumps to `epoch` using the closed form when there is one.
   */
  step(epoch?: number): void {
    this.stepCount++
    let values: number[]
    if (epoch === undefined) {
      this.lastEpoch++
      values = this.getLr()
    } else {
      this.lastEpoch = epoch
      values = this.closedFormLr() ?? this.getLr()
    }
    const groups = this.optimizer.paramGroups
    for (let i = 0; i < groups.length; i++) groups[i].lr = values[i]
    this.lastLrs = groups.map((g) => g.lr)
  }

  getLastLr(): readonly number[] {
    return this.lastLrs
  }

  /** Extra state of a subclass (JSON). */
  protected extraState(): { [key: string]: JsonValue } {
    return {}
  }

  /** Restores what {@link extraState} saved; `state` has been checked to be this schedule's type. */
  protected loadExtraState(state: SchedulerState): void {
    void state
  }

  /** type, lastEpoch, stepCount, baseLrs, lastLr and the subclass's extra state (PyTorch's state_dict()). */
  stateDict(): SchedulerState {
    return { type: this.type, lastEpoch: this.lastEpoch, stepCount: this.stepCount, baseLrs: [...this.baseLrs], lastLr: [...this.lastLrs], ...this.extraState() }
  }

  loadStateDict(state: SchedulerState): void {
    if (state === null || typeof state !== "object" || state.type !== this.type) {
      throw new FormatError(`${this.constructor.name} state has type ${JSON.stringify((state as { type?: unknown } | null)?.type)} (expected "${this.type}")`)
    }
    const { lastEpoch, stepCount, baseLrs, lastLr } = state
    const numbers = (v: JsonValue | undefined): v is number[] => Array.isArray(v) && v.length === this.baseLrs.length && v.every((x) => typeof x === "number")
    if (typeof lastEpoch !== "number" || typeof stepCount !== "number" || !numbers(baseLrs) || !numbers(lastLr)) {
      throw new FormatError(`${this.constructor.name} state ${JSON.stringify(state)} (expected lastEpoch, stepCount, and baseLrs and lastLr with one number per group)`)
    }
    this.lastEpoch = lastEpoch
    this.stepCount = stepCount
    this.baseLrs.splice(0, this.baseLrs.length, ...baseLrs)
    this.lastLrs = [...lastLr]
    this.loadExtraState(state)
  }
}

/**
 * `LambdaLR`: lr = base_lr * lrLambda(last_epoch) (one function, or one per group).
 *
 * @example
 * new LambdaLR(opt, (k) => Math.min(1, (k + 1) / 100)) // linear warm-up over 100 steps
 */
export class LambdaLR extends LRSchedulerBase {
  readonly type = "lambda_lr"
  private readonly lambdas: readonly ((step: number) => number)[]

  constructor(optimizer: Optimizer, lrLambda: ((step: number) => number) | readonly ((step: number) => number)[]) {
    super(optimizer)
    const n = optimizer.paramGroups.length
    const fs = typeof lrLambda === "function" ? Array.from({ length: n }, () => lrLambda) : [...lrLambda]
    if (fs.length !== n || fs.some((f) => typeof f !== "function")) throw new AttrError(`LambdaLR: expected ${n} lr_lambda functions (one per group), got ${fs.length}`)
    this.lambdas = fs
    this.initialStep()
  }

  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lambdas[i](this.lastEpoch))
  }
}

/** Options of {@link StepLR} (step_size may be written stepSize). */
export interface StepLROptions {
  readonly stepSize?: number
  readonly step_size?: number
  /** Default 0.1. */
  readonly gamma?: number
}

/**
 * `StepLR`: lr = base_lr * gamma ^ floor(last_epoch / step_size).
 *
 * @example
 * new StepLR(opt, { step_size: 30, gamma: 0.1 })
 */
export class StepLR extends LRSchedulerBase {
  readonly type = "step_lr"
  readonly stepSize: number
  readonly gamma: number

  constructor(optimizer: Optimizer, options: StepLROptions) {
    super(optimizer)
    this.stepSize = int("StepLR", options, "stepSize", "step_size", 1)
    this.gamma = num("StepLR", options, "gamma", "gamma", 0.1)
    this.initialStep()
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr)
    return groups.map((g) => g.lr * this.gamma)
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize))
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Steps at which the lr is multiplied by gamma (a milestone listed twice counts twice). */
  readonly milestones: readonly number[]
  /** Default 0.1. */
  readonly gamma?: number
}

/**
 * `MultiStepLR`: lr = base_lr * gamma ^ (number of milestones <= last_epoch).
 *
 * @example
 * new MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 })
 */
export class MultiStepLR extends LRSchedulerBase {
  readonly type = "multistep_lr"
  readonly milestones: readonly number[]
  readonly gamma: number
  private readonly counts = new Map<number, number>()

  constructor(optimizer: Optimizer, options: MultiStepLROptions) {
    super(optimizer)
    const m = options?.milestones
    if (!Array.isArray(m) || m.some((x) => !Number.isInteger(x))) throw new AttrError(`MultiStepLR: milestones = ${JSON.stringify(m)} (expected a list of integers)`)
    this.milestones = [...m].sort((a, b) => a - b)
    for (const x of m) this.counts.set(x, (this.counts.get(x) ?? 0) + 1)
    this.gamma = num("MultiStepLR", options, "gamma", "gamma", 0.1)
    this.initialStep()
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups
    const count = this.counts.get(this.lastEpoch)
    if (count === undefined) return groups.map((g) => g.lr)
    return groups.map((g) => g.lr * this.gamma ** count)
  }

  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((x) => x <= this.lastEpoch).length
    return this.baseLrs.map((b) => b * this.gamma ** passed)
  }
}

/**
 * `ExponentialLR`: lr = base_lr * gamma ^ last_epoch.
 *
 * @example
 * new ExponentialLR(opt, { gamma: 0.95 })
 */
export class ExponentialLR extends LRSchedulerBase {
  readonly type = "exponential_lr"
  readonly gamma: number

  constructor(optimizer: Optimizer, options: { readonly gamma: number }) {
    super(optimizer)
    this.gamma = num("ExponentialLR", options ?? {}, "gamma", "gamma")
    this.initialStep()
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups
    if (this.lastEpoch === 0) return groups.map((g) => g.lr)
    return groups.map((g) => g.lr * this.gamma)
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch)
  }
}

/** Options of {@link CosineAnnealingLR} (PyTorch's T_max and eta_min, or tMax and etaMin). */
export interface CosineAnnealingLROptions {
  readonly tMax?: number
  readonly T_max?: number
  /** Default 0. */
  readonly etaMin?: number
  readonly eta_min?: number
}

/**
 * `CosineAnnealingLR`: lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2,
 * computed recursively as PyTorch does. No restart and no clamp: past T_max the lr rises
 * again (period 2 * T_max).
 *
 * @example
 * new CosineAnnealingLR(opt, { T_max: epochs * stepsPerEpoch })
 */
export class CosineAnnealingLR extends LRSchedulerBase {
  readonly type = "cosine_annealing_lr"
  readonly tMax: number
  readonly etaMin: number

  constructor(optimizer: Optimizer, options: CosineAnnealingLROptions) {
    super(optimizer)
    this.tMax = num("CosineAnnealingLR", options ?? {}, "tMax", "T_max")
    if (this.tMax <= 0) throw new AttrError(`CosineAnnealingLR: T_max = ${this.tMax} (expected > 0)`)
    this.etaMin = num("CosineAnnealingLR", options, "etaMin", "eta_min", 0)
    this.initialStep()
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups
    const k = this.lastEpoch
    const T = this.tMax
    const eta = this.etaMin
    if (k === 0) return groups.map((g) => g.lr)
    if (this.stepCount === 1 && k > 0) return this.baseLrs.map((b) => eta + ((b - eta) * (1 + Math.cos((k * Math.PI) / T))) / 2)
    if ((k - 1 - T) % (2 * T) === 0) return groups.map((g, i) => g.lr + ((this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T))) / 2)
    return groups.map((g) => ((1 + Math.cos((Math.PI * k) / T)) / (1 + Math.cos((Math.PI * (k - 1)) / T))) * (g.lr - eta) + eta)
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2)
  }
}

/** Options of {@link LinearLR} (PyTorch's names or camelCase). */
export interface LinearLROptions {
  /** Factor at step 0, in (0, 1]. Default 1/3. */
  readonly startFactor?: number
  readonly start_factor?: number
  /** Factor from total_iters on, in [0, 1]. Default 1. */
  readonly endFactor?: number
  readonly end_factor?: number
  /** Steps to go from start to end. Default 5. */
  readonly totalIters?: number
  readonly total_iters?: number
}

/**
 * `LinearLR` (warm-up): lr = base_lr * (start + (end - start) * min(last_epoch, total_iters) / total_iters).
 *
 * @example
 * new LinearLR(opt, { start_factor: 0.1, total_iters: 500 })
 */
export class LinearLR extends LRSchedulerBase {
  readonly type = "linear_lr"
  readonly startFactor: number
  readonly endFactor: number
  readonly totalIters: number

  constructor(optimizer: Optimizer, options: LinearLROptions = {}) {
    super(optimizer)
    this.startFactor = num("LinearLR", options, "startFactor", "start_factor", 1 / 3)
    this.endFactor = num("LinearLR", options, "endFactor", "end_factor", 1)
    if (this.startFactor > 1 || this.startFactor <= 0) throw new AttrError(`LinearLR: start_factor = ${this.startFactor} (expected > 0 and <= 1)`)
    if (this.endFactor > 1 || this.endFactor < 0) throw new AttrError(`LinearLR: end_factor = ${this.endFactor} (expected between 0 and 1)`)
    this.totalIters = int("LinearLR", options, "totalIters", "total_iters", 1, 5)
    this.initialStep()
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups
    const k = this.lastEpoch
    const s = this.startFactor
    const e = this.endFactor
    if (k === 0) return groups.map((g) => g.lr * s)
    if (k > this.totalIters) return groups.map((g) => g.lr)
    return groups.map((g) => g.lr * (1 + (e - s) / (this.totalIters * s + (k - 1) * (e - s))))
  }

  protected override closedFormLr(): number[] {
    const s = this.startFactor
    return this.baseLrs.map((b) => b * (s + ((this.endFactor - s) * Math.min(this.totalIters, this.lastEpoch)) / this.totalIters))
  }
}

/** Options of {@link OneCycleLR}: torch's names (snake_case) or camelCase. */
export interface OneCycleLROptions {
  /** Peak lr (one number, or one per group). */
  readonly maxLr?: number | readonly number[]
  readonly max_lr?: number | readonly number[]
  /** Steps in the cycle; or give epochs and stepsPerEpoch. */
  readonly totalSteps?: number
  readonly total_steps?: number
  readonly epochs?: number
  readonly stepsPerEpoch?: number
  readonly steps_per_epoch?: number
  /** Fraction of the cycle spent increasing the lr. Default 0.3. */
  readonly pctStart?: number
  readonly pct_start?: number
  /** "cos" (default) or "linear". */
  readonly annealStrategy?: "cos" | "linear"
  readonly anneal_strategy?: "cos" | "linear"
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr. Default true. */
  readonly cycleMomentum?: boolean
  readonly cycle_momentum?: boolean
  /** Default 0.85. */
  readonly baseMomentum?: number
  readonly base_momentum?: number
  /** Default 0.95. */
  readonly maxMomentum?: number
  readonly max_momentum?: number
  /** initial_lr = max_lr / div_factor. Default 25. */
  readonly divFactor?: number
  readonly div_factor?: number
  /** min_lr = initial_lr / final_div_factor. Default 1e4. */
  readonly finalDivFactor?: number
  readonly final_div_factor?: number
  /** Default false. */
  readonly threePhase?: boolean
  readonly three_phase?: boolean
}

interface Phase {
  readonly endStep: number
  readonly startLr: "initial" | "max" | "min"
  readonly endLr: "initial" | "max" | "min"
  readonly startMomentum: "max" | "base"
  readonly endMomentum: "max" | "base"
}

/**
 * `OneCycleLR` (Smith's 1cycle policy): the lr rises from max_lr / div_factor to max_lr
 * over pct_start of total_steps and anneals to initial_lr / final_div_factor; momentum (or
 * beta1) moves the other way between max_momentum and base_momentum. It ignores the
 * optimizer's lr and overwrites its momentum or beta1 at construction and every step.
 * Stepping past total_steps is an error, as in PyTorch.
 *
 * @example
 * new OneCycleLR(opt, { max_lr: 3e-3, epochs: 3, steps_per_epoch: 938 }) // step() after every batch
 */
export class OneCycleLR extends LRSchedulerBase {
  readonly type = "one_cycle_lr"
  readonly totalSteps: number
  readonly annealStrategy: "cos" | "linear"
  readonly cycleMomentum: boolean
  private readonly useBeta1: boolean
  private readonly phases: readonly Phase[]
  private readonly lrs: { initial: number[]; max: number[]; min: number[] }
  private readonly momenta: { max: number[]; base: number[] }

  constructor(optimizer: Optimizer, options: OneCycleLROptions) {
    const who = "OneCycleLR"
    const o = options ?? {}
    const groups = optimizer.paramGroups
    const total = aliased<number>(who, o, "totalSteps", "total_steps")
    let totalSteps: number
    if (total !== undefined) totalSteps = int(who, o, "totalSteps", "total_steps", 1)
    else {
      const epochs = int(who, o, "epochs", "epochs", 1)
      totalSteps = epochs * int(who, o, "stepsPerEpoch", "steps_per_epoch", 1)
    }
    const pctStart = num(who, o, "pctStart", "pct_start", 0.3)
    if (pctStart < 0 || pctStart > 1) throw new AttrError(`${who}: pct_start = ${pctStart} (expected a number between 0 and 1)`)
    const anneal = aliased<string>(who, o, "annealStrategy", "anneal_strategy") ?? "cos"
    if (anneal !== "cos" && anneal !== "linear") throw new AttrError(`${who}: anneal_strategy = ${JSON.stringify(anneal)} (expected "cos" or "linear")`)
    const perGroup = (camel: string, snake: string, fallback?: number): number[] => {
      const v = aliased<unknown>(who, o, camel, snake) ?? fallback
      const list = Array.isArray(v) ? v : groups.map(() => v)
      if (list.length !== groups.length || list.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
        throw new AttrError(`${who}: ${snake} = ${JSON.stringify(v)} (expected a number or one per group: ${groups.length})`)
      }
      return list as number[]
    }
    const maxLrs = perGroup("maxLr", "max_lr")
    const div = num(who, o, "divFactor", "div_factor", 25)
    const finalDiv = num(who, o, "finalDivFactor", "final_div_factor", 1e4)
    const initial = maxLrs.map((m) => m / div)
    // PyTorch sets initial_lr before the base class reads it as the base lr.
    groups.forEach((g, i) => (g.initialLr = initial[i]))
    super(optimizer)
    this.totalSteps = totalSteps
    this.annealStrategy = anneal
    this.lrs = { initial, max: maxLrs, min: initial.map((x) => x / finalDiv) }
    const threePhase = aliased<boolean>(who, o, "threePhase", "three_phase") ?? false
    this.phases = threePhase
      ? [
          { endStep: pctStart * totalSteps - 1, startLr: "initial", endLr: "max", startMomentum: "max", endMomentum: "base" },
          { endStep: 2 * pctStart * totalSteps - 2, startLr: "max", endLr: "initial", startMomentum: "base", endMomentum: "max" },
          { endStep: totalSteps - 1, startLr: "initial", endLr: "min", startMomentum: "max", endMomentum: "max" },
        ]
      : [
          { endStep: pctStart * totalSteps - 1, startLr: "initial", endLr: "max", startMomentum: "max", endMomentum: "base" },
          { endStep: totalSteps - 1, startLr: "max", endLr: "min", startMomentum: "base", endMomentum: "max" },
        ]
    this.cycleMomentum = aliased<boolean>(who, o, "cycleMomentum", "cycle_momentum") ?? true
    this.useBeta1 = groups.some((g) => g.betas !== undefined)
    this.momenta = { max: perGroup("maxMomentum", "max_momentum", 0.95), base: perGroup("baseMomentum", "base_momentum", 0.85) }
    if (this.cycleMomentum) {
      if (!this.useBeta1 && groups.some((g) => g.momentum === undefined)) {
        throw new AttrError(`${who}: the optimizer has no momentum or betas (expected cycle_momentum: false, e.g. for Adagrad)`)
      }
      groups.forEach((g, i) => this.setMomentum(g, this.momenta.max[i]))
    }
    this.initialStep()
  }

  private setMomentum(g: Optimizer["paramGroups"][number], value: number): void {
    if (this.useBeta1) g.betas![0] = value
    else g.momentum = value
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === "linear") return (end - start) * pct + start
    const cosOut = Math.cos(Math.PI * pct) + 1
    return end + ((start - end) / 2) * cosOut
  }

  protected getLr(): number[] {
    const k = this.lastEpoch
    if (k > this.totalSteps) throw new AttrError(`OneCycleLR: tried to step ${k} times; total_steps is ${this.totalSteps} (expected at most total_steps steps)`)
    return this.optimizer.paramGroups.map((g, i) => {
      let start = 0
      for (let j = 0; j < this.phases.length; j++) {
        const phase = this.phases[j]
        if (k <= phase.endStep || j === this.phases.length - 1) {
          const pct = (k - start) / (phase.endStep - start)
          const lr = this.anneal(this.lrs[phase.startLr][i], this.lrs[phase.endLr][i], pct)
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(this.momenta[phase.startMomentum][i], this.momenta[phase.endMomentum][i], pct))
          return lr
        }
        start = phase.endStep
      }
      throw new Error("unreachable: the last phase always matches")
    })
  }
}

/** A schedule that runs others in sequence or in parallel. */
abstract class CompositeScheduler implements LRScheduler {
  abstract readonly type: string
  readonly optimizer: Optimizer
  lastEpoch = 0
  protected lastLrs: readonly number[]

  constructor(
    protected readonly schedulers: readonly LRSchedulerBase[],
    who: string,
  ) {
    if (!Array.isArray(schedulers) || schedulers.length === 0) throw new AttrError(`${who}: expected at least one schedule`)
    this.optimizer = schedulers[0].optimizer
    if (schedulers.some((s) => s.optimizer !== this.optimizer)) throw new AttrError(`${who}: every schedule must drive the same optimizer`)
    this.lastLrs = this.optimizer.paramGroups.map((g) => g.lr)
  }

  abstract step(): void

  getLastLr(): readonly number[] {
    return this.lastLrs
  }

  /** type, lastEpoch, lastLr and the state of every inner schedule, in order. */
  stateDict(): SchedulerState {
    return { type: this.type, lastEpoch: this.lastEpoch, lastLr: [...this.lastLrs], schedulers: this.schedulers.map((s) => s.stateDict()) }
  }

  loadStateDict(state: SchedulerState): void {
    const list = state?.schedulers
    if (state?.type !== this.type || !Array.isArray(list) || list.length !== this.schedulers.length || typeof state.lastEpoch !== "number" || !Array.isArray(state.lastLr)) {
      throw new FormatError(`${this.constructor.name} state ${JSON.stringify(state)?.slice(0, 200)} (expected type "${this.type}" with ${this.schedulers.length} schedules)`)
    }
    this.schedulers.forEach((s, i) => s.loadStateDict(list[i] as SchedulerState))
    this.lastEpoch = state.lastEpoch
    this.lastLrs = state.lastLr as number[]
  }
}

/**
 * `SequentialLR`: runs `schedulers[i]` from `milestones[i - 1]` on (e.g. a LinearLR warm-up,
 * then a cosine). Construct the schedules first, on the same optimizer, then this.
 *
 * @example
 * const warm = new LinearLR(opt, { start_factor: 0.01, total_iters: 200 })
 * const cos = new CosineAnnealingLR(opt, { T_max: total - 200 })
 * const sched = new SequentialLR(opt, [warm, cos], [200])
 */
export class SequentialLR extends CompositeScheduler {
  readonly type = "sequential_lr"
  readonly milestones: readonly number[]

  constructor(optimizer: Optimizer, schedulers: readonly LRSchedulerBase[], milestones: readonly number[]) {
    super(schedulers, "SequentialLR")
    if (optimizer !== this.optimizer) throw new AttrError("SequentialLR: the schedules drive another optimizer than the one given")
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      throw new AttrError(`SequentialLR: ${schedulers.length} schedules need ${schedulers.length - 1} milestones, got ${JSON.stringify(milestones)}`)
    }
    this.milestones = [...milestones]
    // As PyTorch: reset the lrs, undo the constructors' initial steps, and take the first
    // schedule's initial step again.
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!
    for (const s of schedulers) s.lastEpoch -= 1
    schedulers[0].initialStep()
    this.lastLrs = schedulers[0].getLastLr()
  }

  /** Steps the schedule whose milestone range holds the new lastEpoch; at a milestone it restarts that schedule at its step 0, as PyTorch does. */
  step(): void {
    this.lastEpoch++
    let idx = 0
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++
    const s = this.schedulers[idx]
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.step(0)
    else s.step()
    this.lastLrs = s.getLastLr()
  }
}

/**
 * `ChainedScheduler`: steps every schedule at each step, so their factors multiply (e.g. a
 * LinearLR warm-up on top of an ExponentialLR decay).
 *
 * @example
 * const sched = new ChainedScheduler([new LinearLR(opt, { total_iters: 5 }), new ExponentialLR(opt, { gamma: 0.9 })])
 */
export class ChainedScheduler extends CompositeScheduler {
  readonly type = "chained_scheduler"

  constructor(schedulers: readonly LRSchedulerBase[]) {
    super(schedulers, "ChainedScheduler")
    this.lastLrs = schedulers[schedulers.length - 1].getLastLr()
  }

  /** Steps every inner schedule once, in order. */
  step(): void {
    this.lastEpoch++
    for (const s of this.schedulers) s.step()
    this.lastLrs = this.schedulers[this.schedulers.length - 1].getLastLr()
  }
}
