import { AttrError, FormatError } from "../errors.ts"
import { allocate, isFloatDType, type FloatArray, type FloatDType } from "../tensor/dtype.ts"
import { sizeOf } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { GroupedOptimizer, groupResolver, MOMENTUM, WEIGHT_DECAY, type Group, type ParamState, type WithGroups } from "./optimizer.ts"

/** The per-group hyper-parameters of {@link SGD}. */
export interface SGDHyperParameters {
  lr: number
  momentum: number
  dampening: number
  weightDecay: number
  nesterov: boolean
}

/** Hyper-parameters of {@link SGD}, under PyTorch's names (camelCase or snake_case). */
export interface SGDOptions {
  /** Learning rate (>= 0). Required, as in torch.optim.SGD. */
  readonly lr: number
  /** Momentum factor (>= 0). Default 0: plain SGD, no buffers. */
  readonly momentum?: number
  /** Dampening of the momentum (applied from the second step on). Default 0. */
  readonly dampening?: number
  /** L2 penalty added to the gradient: d = g + weight_decay * p (>= 0). Default 0. */
  readonly weightDecay?: number
  /** Alias of weightDecay, as written in PyTorch and the golden files. */
  readonly weight_decay?: number
  /** Nesterov momentum (needs momentum > 0 and dampening = 0). Default false. */
  readonly nesterov?: boolean
}

/** One momentum buffer in a checkpoint: plain data, JSON-serialisable. */
export interface SGDBufferState {
  readonly shape: readonly number[]
  readonly dtype: FloatDType
  readonly data: readonly number[]
}

/** Everything an {@link SGD} needs to resume exactly where it was (the JSON-only form). */
export interface SGDState {
  readonly type: "sgd"
  /** Steps taken so far. */
  readonly step: number
  readonly lr: number
  readonly momentum: number
  readonly dampening: number
  readonly weightDecay: number
  readonly nesterov: boolean
  /** Momentum buffers by parameter name (absent for parameters that never had a gradient). */
  readonly buffers: { readonly [name: string]: SGDBufferState }
}

const MOMENTUM_BUFFER = "momentum_buffer"

const resolveSGD = groupResolver<SGDHyperParameters>(
  "SGD",
  [MOMENTUM, { key: "dampening", torch: "dampening", label: "dampening", kind: "number", anyFinite: true }, WEIGHT_DECAY, { key: "nesterov", torch: "nesterov", label: "nesterov", kind: "boolean" }],
  (g) => {
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new AttrError(`SGD: nesterov momentum needs momentum > 0 and dampening = 0 (got momentum ${g.momentum}, dampening ${g.dampening})`)
    }
  },
)

/**
 * Stochastic gradient descent exactly as `torch.optim.SGD`. For each parameter p with
 * gradient g, at its t-th step:
 *
 *     d = g + weight_decay * p
 *     if momentum != 0:
 *         buf = d                                        (t = 1: no dampening)
 *         buf = momentum * buf + (1 - dampening) * d     (t > 1)
 *         d = d + momentum * buf   if nesterov   else   buf
 *     p = p - lr * d
 *
 * Parameters are updated IN PLACE in the parameter store (the tensors of the store are
 * the ones the executor reads, so nothing has to be handed back). A parameter without a
 * gradient in a step is skipped, as PyTorch skips `p.grad is None`. Momentum buffers are
 * allocated on a parameter's first step with momentum; later steps allocate nothing. The
 * momentum is read from the group at every step, so OneCycleLR can cycle it.
 *
 * @example
 * const opt = new SGD({ lr: 0.05, momentum: 0.9, weight_decay: 1e-4 })
 * opt.step(params, new Map([["fc1.weight", dw], ["fc1.bias", db]]))
 */
export class SGD extends GroupedOptimizer<SGDHyperParameters> {
  readonly type = "sgd"

  constructor(options: WithGroups<SGDOptions>) {
    super(options, options?.groups, resolveSGD, { lr: NaN, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false })
  }

  /** Group 0's momentum factor. */
  get momentum(): number {
    return this.paramGroups[0].momentum
  }

  /** Group 0's dampening. */
  get dampening(): number {
    return this.paramGroups[0].dampening
  }

  /** Group 0's weight decay. */
  get weightDecay(): number {
    return this.paramGroups[0].weightDecay
  }

  /** Group 0's nesterov flag. */
  get nesterov(): boolean {
    return this.paramGroups[0].nesterov
  }

  protected update(group: Group<SGDHyperParameters>, p: FloatArray, gd: ArrayLike<number>, state: ParamState, dtype: FloatDType): void {
    const lr = group.lr
    const wd = group.weightDecay
    const mu = group.momentum
    const keep = 1 - group.dampening
    const nesterov = group.nesterov
    const n = p.length
    if (mu === 0) {
      for (let i = 0; i < n; i++) p[i] = p[i] - lr * (gd[i] + wd * p[i])
      return
    }
    const b = state.buffers.get(MOMENTUM_BUFFER)
    if (b === undefined) {
      // First step with momentum: buf = d, no dampening (PyTorch clones d).
      const nb = this.buffer(state, MOMENTUM_BUFFER, dtype, n)
      for (let i = 0; i < n; i++) {
        const d = gd[i] + wd * p[i]
        nb[i] = d
        p[i] = p[i] - lr * (nesterov ? d + mu * d : d)
      }
      return
    }
    for (let i = 0; i < n; i++) {
      const d = gd[i] + wd * p[i]
      const m = mu * b[i] + keep * d
      b[i] = m
      p[i] = p[i] - lr * (nesterov ? d + mu * m : m)
    }
  }

  /** A plain-JSON copy of the state (group 0's settings and the momentum buffers). */
  exportState(): SGDState {
    const buffers: { [name: string]: SGDBufferState } = {}
    for (const [name, s] of this.state) {
      const b = s.buffers.get(MOMENTUM_BUFFER)
      if (b !== undefined) buffers[name] = { shape: [...s.shape], dtype: b instanceof Float32Array ? "float32" : "float64", data: Array.from(b) }
    }
    const g = this.paramGroups[0]
    return { type: "sgd", step: this.stepCount, lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, buffers }
  }

  /**
   * Restores the step count, the learning rate and the momentum buffers saved by
   * {@link exportState}. The other hyper-parameters are fixed at construction; a state
   * saved with different ones is rejected (FormatError) rather than silently mixed.
   * ({@link loadStateDict}, the {@link Optimizer} form, restores them as PyTorch does.)
   */
  importState(state: SGDState): void {
    if (state === null || typeof state !== "object" || state.type !== "sgd") {
      throw new FormatError(`SGD state has type ${JSON.stringify((state as { type?: unknown } | null)?.type)} (expected "sgd")`)
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new FormatError(`SGD state step = ${state.step} (expected an integer >= 0)`)
    const g = this.paramGroups[0]
    for (const [key, mine] of [
      ["momentum", g.momentum],
      ["dampening", g.dampening],
      ["weightDecay", g.weightDecay],
      ["nesterov", g.nesterov],
    ] as const) {
      if (state[key] !== mine) throw new FormatError(`SGD state has ${key} = ${state[key]} but this optimizer has ${mine} (expected equal settings)`)
    }
    const tensors = new Map<string, Tensor>()
    const paramSteps: { [name: string]: number } = {}
    for (const [name, b] of Object.entries(state.buffers ?? {})) {
      if (!isFloatDType(b.dtype)) throw new FormatError(`SGD state buffer '${name}' has dtype ${b.dtype} (expected float32 or float64)`)
      if (!Array.isArray(b.shape) || b.data.length !== sizeOf(b.shape)) {
        throw new FormatError(`SGD state buffer '${name}' holds ${b.data?.length} values for shape ${JSON.stringify(b.shape)}`)
      }
      const data = allocate(b.dtype, b.data.length) as FloatArray
      data.set(b.data)
      tensors.set(`${MOMENTUM_BUFFER}/${name}`, { shape: [...b.shape], dtype: b.dtype, data })
      paramSteps[name] = state.step
    }
    const groups = this.paramGroups.map((pg) => ({ ...pg, lr: state.lr, betas: undefined }))
    this.loadStateDict({ meta: { type: "sgd", step: state.step, paramSteps, groups: JSON.parse(JSON.stringify(groups)) }, tensors })
  }

  /** The momentum buffer of a parameter (a live view; undefined before its first step). */
  momentumBuffer(name: string): Tensor | undefined {
    return this.stateBuffer(name, MOMENTUM_BUFFER)
  }
}
