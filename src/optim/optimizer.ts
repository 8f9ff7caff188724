/**
 * The optimizer contract (`Optimizer`) that the Trainer, the training CLI and schedules
 * program against, and `GroupedOptimizer`, the base the built-in optimizers share:
 * PyTorch-style parameter groups, per-parameter state buffers, validation of every step and
 * a checkpoint state made of tensors plus JSON.
 */
import { AttrError, FeedError, FormatError, showShape } from "../errors.ts"
import type { ParamStore } from "../exec/plan.ts"
import type { JsonValue } from "../io/checkpoint.ts"
import { allocate, isFloatDType, type FloatArray, type FloatDType } from "../tensor/dtype.ts"
import { sameShape, sizeOf } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"

/**
 * The hyper-parameters of one parameter group that schedules read and write (PyTorch's
 * `param_groups[i]`). `lr` is required; `momentum` (SGD, RMSprop) or `betas` (Adam, AdamW)
 * is what OneCycleLR cycles; `initialLr` is set by the first schedule attached (PyTorch's
 * `initial_lr`), the base its rates are computed from.
 */
export interface ParamGroup {
  lr: number
  initialLr?: number
  momentum?: number
  betas?: [number, number]
}

/**
 * An optimizer's state for a checkpoint: JSON metadata (type, step counts, every group's
 * hyper-parameters) plus named tensors (state buffers, keyed `<buffer>/<parameter>`, e.g.
 * `exp_avg/fc1.weight`). Restoring it into an optimizer of the same kind resumes bit for bit.
 */
export interface OptimizerState {
  readonly meta: { readonly type: string; readonly [key: string]: JsonValue }
  readonly tensors: ReadonlyMap<string, Tensor>
}

/**
 * What the Trainer, the CLI and LR schedules need from an optimizer. Implement it to plug
 * in your own update rule.
 *
 * @example
 * class SignSGD implements Optimizer {
 *   readonly paramGroups: ParamGroup[] = [{ lr: 0.01 }]
 *   get lr() { return this.paramGroups[0].lr }
 *   set lr(v) { for (const g of this.paramGroups) g.lr = v }
 *   step(params: ParamStore, grads: ReadonlyMap<string, Tensor>) {
 *     for (const [name, g] of grads) {
 *       const p = params.get(name)!.data
 *       for (let i = 0; i < p.length; i++) p[i] -= this.lr * Math.sign(g.data[i])
 *     }
 *   }
 *   stateDict() { return { meta: { type: "sign_sgd", lr: this.lr }, tensors: new Map() } }
 *   loadStateDict(s: OptimizerState) { this.lr = s.meta.lr as number }
 * }
 */
export interface Optimizer {
  /** The learning rate of the first group; setting it sets every group's lr. */
  lr: number
  /** Hyper-parameters per group (PyTorch's param_groups); schedules change them in place. */
  readonly paramGroups: readonly ParamGroup[]
  /** Updates, in place, every parameter of `params` that has a gradient in `grads`. */
  step(params: ParamStore, grads: ReadonlyMap<string, Tensor>): void
  /** A copy of the state, for checkpoints. */
  stateDict(): OptimizerState
  /** Restores a state saved by {@link stateDict} (group hyper-parameters included, as PyTorch does). */
  loadStateDict(state: OptimizerState): void
}

/** Which parameters a group holds: a list of names, or a predicate on the name. */
export type ParamSelector = readonly string[] | ((name: string) => boolean)

/**
 * An extra parameter group: a selector plus the hyper-parameters that differ from the
 * optimizer's defaults (PyTorch's `[{'params': ..., 'weight_decay': 0}, ...]`); the others
 * are taken from the optimizer's options.
 *
 * @example
 * new AdamW({ lr: 3e-3, groups: [{ params: (n) => n.endsWith(".bias"), weightDecay: 0 }] })
 */
export type GroupSpec<O> = Partial<O> & { readonly params: ParamSelector }

/** An optimizer's options plus its extra parameter groups (option `groups`). */
export type WithGroups<O> = O & { readonly groups?: readonly GroupSpec<O>[] }

/** Matches biases and batch-norm weights: the usual "no weight decay" group. */
export const isBiasOrNorm = (name: string): boolean => name.endsWith(".bias") || /(^|\.)(bn|norm)[^.]*\.weight$/.test(name)

/** Per-parameter state: the steps it took and its named buffers (exp_avg, ...). */
export interface ParamState {
  step: number
  /** The parameter's shape (the buffers have it too). */
  shape: readonly number[]
  readonly buffers: Map<string, FloatArray>
}

/** A group as stored by {@link GroupedOptimizer}: hyper-parameters of type H. */
export type Group<H> = H & ParamGroup

/**
 * The shared machinery of the built-in optimizers. Group 0 holds the constructor's
 * hyper-parameters and every parameter no extra group claims; extra groups (option
 * `groups`) override some of them for the parameters they select. Subclasses implement
 * {@link update} for one parameter; the base validates the whole step first (so a bad call
 * changes nothing), finds each parameter's group and state, and serialises everything.
 */
export abstract class GroupedOptimizer<H extends object> implements Optimizer {
  /** PyTorch's name of the optimizer (`adam`, `sgd`, ...), stored in its state. */
  abstract readonly type: string
  readonly paramGroups: Group<H>[]
  private readonly selectors: (ParamSelector | undefined)[]
  private readonly groupIndex = new Map<string, number>()
  /** Per-parameter state, created on the parameter's first step. */
  protected readonly state = new Map<string, ParamState>()
  private steps = 0

  /**
   * @param defaults the group-0 options as the user gave them (aliases allowed)
   * @param groups extra groups (option `groups`)
   * @param resolve reads an options object over a base group: every hyper-parameter the
   *   object gives (camelCase or PyTorch's snake_case) replaces the base's; checks the result
   *   and throws AttrError naming the bad value
   * @param torchDefaults the base of group 0 (torch.optim's defaults)
   */
  protected constructor(
    defaults: object,
    groups: readonly ({ readonly params: ParamSelector } & object)[] | undefined,
    protected readonly resolve: (options: object, base: Group<H>) => Group<H>,
    torchDefaults: Group<H>,
  ) {
    if (defaults === null || typeof defaults !== "object") throw new AttrError(`${this.constructor.name}: options = ${JSON.stringify(defaults)} (expected an object)`)
    const first = resolve(defaults, torchDefaults)
    this.paramGroups = [first]
    this.selectors = [undefined]
    for (const spec of groups ?? []) {
      const params = spec?.params
      if (params === undefined || !(Array.isArray(params) || typeof params === "function")) {
        throw new AttrError(`${this.constructor.name}: a parameter group needs params (a list of names or a predicate)`)
      }
      this.paramGroups.push(resolve(spec, first))
      this.selectors.push(params)
    }
  }

  get lr(): number {
    return this.paramGroups[0].lr
  }

  set lr(value: number) {
    checkNumber(this.constructor.name, value, "lr", 0)
    for (const g of this.paramGroups) g.lr = value
  }

  /** Number of `step` calls made. */
  get stepCount(): number {
    return this.steps
  }

  /** The group a parameter belongs to (index into paramGroups; 0 = the defaults). */
  groupOf(name: string): number {
    const cached = this.groupIndex.get(name)
    if (cached !== undefined) return cached
    let found = 0
    for (let i = 1; i < this.selectors.length; i++) {
      const s = this.selectors[i]!
      if (typeof s === "function" ? s(name) : s.includes(name)) {
        // PyTorch: "some parameters appear in more than one parameter group".
        if (found !== 0) throw new AttrError(`${this.constructor.name}: parameter '${name}' is selected by groups ${found} and ${i} (expected at most one)`)
        found = i
      }
    }
    this.groupIndex.set(name, found)
    return found
  }

  step(params: ParamStore, grads: ReadonlyMap<string, Tensor>): void {
    const who = this.constructor.name
    for (const [name, g] of grads) {
      const p = params.get(name)
      if (p === undefined) throw new FeedError(`${who}: gradient for '${name}', which is not in the parameter store`)
      if (!isFloatDType(p.dtype)) throw new FeedError(`${who}: parameter '${name}' is ${p.dtype} (expected a float tensor)`)
      if (!sameShape(p.shape, g.shape) || g.data.length !== p.data.length) {
        throw new FeedError(`${who}: gradient of '${name}' has shape ${showShape(g.shape)} (expected the parameter's shape ${showShape(p.shape)})`)
      }
      this.groupOf(name)
    }
    for (const [name, g] of grads) {
      const p = params.get(name)!
      let s = this.state.get(name)
      if (s === undefined) {
        s = { step: 0, shape: [...p.shape], buffers: new Map() }
        this.state.set(name, s)
      }
      // torch.optim increments a parameter's step before its update uses it (t = 1 first).
      s.step++
      this.update(this.paramGroups[this.groupIndex.get(name)!], p.data as FloatArray, g.data, s, p.dtype as FloatDType)
    }
    this.steps++
  }

  /** One update of one parameter `p` (in place) with gradient `g` in group `group`. */
  protected abstract update(group: Group<H>, p: FloatArray, g: ArrayLike<number>, state: ParamState, dtype: FloatDType): void

  /** The buffer `key` of a state, allocated (filled with `fill`) on first use. */
  protected buffer(state: ParamState, key: string, dtype: FloatDType, length: number, fill = 0): FloatArray {
    let b = state.buffers.get(key)
    if (b === undefined) {
      b = allocate(dtype, length) as FloatArray
      if (fill !== 0) b.fill(fill)
      state.buffers.set(key, b)
    }
    return b
  }

  /** A state buffer of a parameter as a tensor (a live view), or undefined before it exists. */
  stateBuffer(param: string, key: string): Tensor | undefined {
    const b = this.state.get(param)?.buffers.get(key)
    if (b === undefined) return undefined
    return { shape: [...this.state.get(param)!.shape], dtype: b instanceof Float32Array ? "float32" : "float64", data: b }
  }

  /** Forgets all state and the step count (a fresh optimizer with the same groups). */
  reset(): void {
    this.state.clear()
    this.steps = 0
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>()
    const paramSteps: { [name: string]: number } = {}
    for (const [name, s] of this.state) {
      paramSteps[name] = s.step
      for (const [key, b] of s.buffers) {
        const data = b.slice()
        tensors.set(`${key}/${name}`, { shape: [...s.shape], dtype: data instanceof Float32Array ? "float32" : "float64", data })
      }
    }
    const groups = this.paramGroups.map((g) => toJson(g))
    return { meta: { type: this.type, step: this.steps, paramSteps, groups }, tensors }
  }

  loadStateDict(state: OptimizerState): void {
    const who = this.constructor.name
    const meta = state?.meta as { [key: string]: JsonValue } | undefined
    if (meta === undefined || meta.type !== this.type) {
      throw new FormatError(`${who} state has type ${JSON.stringify(meta?.type)} (expected "${this.type}")`)
    }
    const step = meta.step
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0) throw new FormatError(`${who} state step = ${JSON.stringify(step)} (expected an integer >= 0)`)
    const groups = meta.groups
    if (!Array.isArray(groups) || groups.length !== this.paramGroups.length) {
      throw new FormatError(`${who} state has ${Array.isArray(groups) ? groups.length : "no"} parameter groups (expected ${this.paramGroups.length})`)
    }
    const restoredGroups = groups.map((raw, i) => {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FormatError(`${who} state group ${i} is ${JSON.stringify(raw)} (expected an object)`)
      try {
        const g = this.resolve(raw as object, this.paramGroups[i])
        const initialLr = (raw as { initialLr?: unknown }).initialLr
        if (typeof initialLr === "number") g.initialLr = initialLr
        return g
      } catch (e) {
        throw new FormatError(`${who} state group ${i}: ${(e as Error).message}`)
      }
    })
    const paramSteps = (meta.paramSteps ?? {}) as { [name: string]: JsonValue }
    const restored = new Map<string, ParamState>()
    for (const [name, s] of Object.entries(paramSteps)) {
      if (typeof s !== "number" || !Number.isInteger(s) || s < 0) throw new FormatError(`${who} state step of '${name}' = ${JSON.stringify(s)} (expected an integer >= 0)`)
      restored.set(name, { step: s, shape: [], buffers: new Map() })
    }
    for (const [key, t] of state.tensors) {
      const slash = key.indexOf("/")
      const s = restored.get(key.slice(slash + 1))
      if (slash < 0 || s === undefined) throw new FormatError(`${who} state tensor '${key}' names no parameter with a step count (expected <buffer>/<parameter>)`)
      if (!isFloatDType(t.dtype)) throw new FormatError(`${who} state tensor '${key}' is ${t.dtype} (expected float32 or float64)`)
      if (t.data.length !== sizeOf(t.shape)) throw new FormatError(`${who} state tensor '${key}' holds ${t.data.length} values for shape ${showShape(t.shape)}`)
      const data = allocate(t.dtype, t.data.length) as FloatArray
      data.set(t.data)
      s.buffers.set(key.slice(0, slash), data)
      s.shape = [...t.shape]
    }
    this.state.clear()
    for (const [k, v] of restored) this.state.set(k, v)
    for (let i = 0; i < restoredGroups.length; i++) this.paramGroups[i] = restoredGroups[i]
    this.steps = step
  }
}

function toJson(g: object): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {}
  for (const [k, v] of Object.entries(g)) {
    if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") out[k] = v
    else if (Array.isArray(v)) out[k] = [...(v as number[])]
  }
  return out
}

/**
 * Checks a numeric hyper-parameter: finite (or, with `allowInfinity`, +Infinity) and >= min
 * (or > min when `strict`), as torch.optim's "Invalid ..." checks. Returns it.
 */
export function checkNumber(who: string, v: unknown, name: string, min: number, options: { strict?: boolean; max?: number; maxExclusive?: boolean } = {}): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`${who}: ${name} = ${JSON.stringify(v)} (expected a finite number)`)
  const below = options.strict ? v <= min : v < min
  const above = options.max !== undefined && (options.maxExclusive ? v >= options.max : v > options.max)
  if (below || above) {
    const lo = `${options.strict ? ">" : ">="} ${min}`
    const hi = options.max === undefined ? "" : ` and ${options.maxExclusive ? "<" : "<="} ${options.max}`
    throw new AttrError(`${who}: invalid ${name} = ${v} (expected ${lo}${hi})`)
  }
  return v
}

/** Checks a boolean hyper-parameter. */
export function checkBoolean(who: string, v: unknown, name: string): boolean {
  if (typeof v !== "boolean") throw new AttrError(`${who}: ${name} = ${JSON.stringify(v)} (expected true or false)`)
  return v
}

/**
 * Resolves a hyper-parameter given under its camelCase name or PyTorch's snake_case
 * alias (both accepted; they must agree when both are given).
 */
export function aliased<T>(who: string, o: object, camel: string, snake: string): T | undefined {
  const r = o as { [k: string]: unknown }
  const a = r[camel]
  const b = r[snake]
  if (a !== undefined && b !== undefined && a !== b) {
    throw new AttrError(`${who}: ${camel} = ${JSON.stringify(a)} and ${snake} = ${JSON.stringify(b)} disagree (expected one of them)`)
  }
  return (a ?? b) as T | undefined
}


/** One hyper-parameter of an optimizer: its camelCase key, PyTorch's name and its check. */
export type HyperParameter =
  | { readonly key: string; readonly torch: string; readonly label: string; readonly kind: "number"; readonly min?: number; readonly max?: number; readonly maxExclusive?: boolean; readonly anyFinite?: boolean }
  | { readonly key: string; readonly torch: string; readonly label: string; readonly kind: "boolean" }
  | { readonly key: "betas"; readonly torch: "betas"; readonly label: string; readonly kind: "betas" }

/**
 * Builds an optimizer's `resolve` function from its hyper-parameter table: every field the
 * options object gives (under `key` or `torch`) replaces the base's, and is checked like
 * torch.optim's constructor checks it; `finalCheck` checks combinations (e.g. nesterov).
 */
export function groupResolver<H extends object>(
  who: string,
  fields: readonly HyperParameter[],
  finalCheck?: (g: Group<H>) => void,
): (options: object, base: Group<H>) => Group<H> {
  const known = new Set(["lr", "params", "groups", "initialLr", ...fields.flatMap((f) => [f.key, f.torch])])
  return (options, base) => {
    for (const k of Object.keys(options)) {
      if (!known.has(k)) throw new AttrError(`${who}: unknown option '${k}' (expected one of ${[...known].filter((x) => x !== "initialLr").join(", ")})`)
    }
    const out = { ...base } as { [k: string]: unknown }
    if (Array.isArray(base.betas)) out.betas = [base.betas[0], base.betas[1]]
    const lr = (options as { lr?: unknown }).lr
    if (lr !== undefined) out.lr = lr
    if (typeof out.lr !== "number" || !Number.isFinite(out.lr)) throw new AttrError(`${who}: lr = ${JSON.stringify(out.lr)} (expected a finite number)`)
    if (out.lr < 0) throw new AttrError(`${who}: invalid learning rate lr = ${out.lr} (expected >= 0)`)
    for (const f of fields) {
      const v = aliased<unknown>(who, options, f.key, f.torch)
      if (v === undefined) continue
      if (f.kind === "boolean") out[f.key] = checkBoolean(who, v, f.torch)
      else if (f.kind === "betas") {
        if (!Array.isArray(v) || v.length !== 2) throw new AttrError(`${who}: betas = ${JSON.stringify(v)} (expected [beta1, beta2])`)
        v.forEach((b, i) => checkNumber(who, b, `betas[${i}]`, 0, { max: 1, maxExclusive: true }))
        out.betas = [v[0], v[1]]
      } else if (f.anyFinite) {
        if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`${who}: ${f.torch} = ${JSON.stringify(v)} (expected a finite number)`)
        out[f.key] = v
      } else {
        if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`${who}: ${f.torch} = ${JSON.stringify(v)} (expected a finite number)`)
        const min = f.min ?? 0
        if (v < min || (f.max !== undefined && (f.maxExclusive ? v >= f.max : v > f.max))) {
          const hi = f.max === undefined ? "" : ` and ${f.maxExclusive ? "<" : "<="} ${f.max}`
          throw new AttrError(`${who}: invalid ${f.label} ${f.torch} = ${v} (expected >= ${min}${hi})`)
        }
        out[f.key] = v
      }
    }
    const g = out as Group<H>
    finalCheck?.(g)
    return g
  }
}

/** The fields every built-in optimizer shares. */
export const WEIGHT_DECAY: HyperParameter = { key: "weightDecay", torch: "weight_decay", label: "weight decay", kind: "number" }
export const EPS: HyperParameter = { key: "eps", torch: "eps", label: "epsilon", kind: "number" }
export const MOMENTUM: HyperParameter = { key: "momentum", torch: "momentum", label: "momentum", kind: "number" }
