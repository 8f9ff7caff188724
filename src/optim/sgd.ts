import { AttrError, FeedError, FormatError, showShape } from "../errors.ts"
import type { ParamStore } from "../exec/plan.ts"
import { allocate, isFloatDType, type FloatArray, type FloatDType } from "../tensor/dtype.ts"
import { sameShape, sizeOf, type Shape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"

/** Hyper-parameters of {@link SGD}, under PyTorch's names (camelCase or snake_case). */
export interface SGDOptions {
  /** Learning rate (>= 0). */
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

/** Everything an {@link SGD} needs to resume exactly where it was. */
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

interface Buffer {
  readonly shape: Shape
  readonly data: FloatArray
}

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
 * Parameters are updated IN PLACE in the {@link ParamStore} (the tensors of the store are
 * the ones the executor reads, so nothing has to be handed back). A parameter without a
 * gradient in a step is skipped, as PyTorch skips `p.grad is None`. Momentum buffers are
 * allocated on a parameter's first step; later steps allocate nothing.
 *
 * @example
 * const opt = new SGD({ lr: 0.05, momentum: 0.9, weight_decay: 1e-4 })
 * opt.step(params, new Map([["fc1.weight", dw], ["fc1.bias", db]]))
 */
export class SGD {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number
  readonly momentum: number
  readonly dampening: number
  readonly weightDecay: number
  readonly nesterov: boolean
  private steps = 0
  private readonly buffers = new Map<string, Buffer>()

  constructor(options: SGDOptions) {
    const o = options ?? ({} as SGDOptions)
    this.lr = checkNonNegative(o.lr, "lr", "learning rate")
    this.momentum = checkNonNegative(o.momentum ?? 0, "momentum", "momentum")
    this.dampening = checkFinite(o.dampening ?? 0, "dampening")
    if (o.weightDecay !== undefined && o.weight_decay !== undefined && o.weightDecay !== o.weight_decay) {
      throw new AttrError(`SGD: weightDecay = ${o.weightDecay} and weight_decay = ${o.weight_decay} disagree (expected one of them)`)
    }
    this.weightDecay = checkNonNegative(o.weightDecay ?? o.weight_decay ?? 0, "weight_decay", "weight decay")
    if (o.nesterov !== undefined && typeof o.nesterov !== "boolean") {
      throw new AttrError(`SGD: nesterov = ${JSON.stringify(o.nesterov)} (expected true or false)`)
    }
    this.nesterov = o.nesterov ?? false
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new AttrError(
        `SGD: nesterov momentum needs momentum > 0 and dampening = 0 (got momentum ${this.momentum}, dampening ${this.dampening})`,
      )
    }
  }

  /** Number of steps taken. */
  get stepCount(): number {
    return this.steps
  }

  /**
   * One update of every parameter that has a gradient in `grads`. Throws FeedError (and
   * changes nothing) when a gradient names an unknown parameter or has the wrong shape.
   */
  step(params: ParamStore, grads: ReadonlyMap<string, Tensor>): void {
    // Validate everything first so that a bad call leaves the store untouched.
    for (const [name, g] of grads) {
      const p = params.get(name)
      if (p === undefined) throw new FeedError(`SGD: gradient for '${name}', which is not in the parameter store`)
      if (!isFloatDType(p.dtype)) throw new FeedError(`SGD: parameter '${name}' is ${p.dtype} (expected a float tensor)`)
      if (!sameShape(p.shape, g.shape) || g.data.length !== p.data.length) {
        throw new FeedError(`SGD: gradient of '${name}' has shape ${showShape(g.shape)} (expected the parameter's shape ${showShape(p.shape)})`)
      }
    }
    const lr = this.lr
    const wd = this.weightDecay
    const mu = this.momentum
    const keep = 1 - this.dampening
    const nesterov = this.nesterov
    for (const [name, g] of grads) {
      const p = params.get(name)!.data as FloatArray
      const gd = g.data
      const n = p.length
      if (mu === 0) {
        for (let i = 0; i < n; i++) p[i] = p[i] - lr * (gd[i] + wd * p[i])
        continue
      }
      let buf = this.buffers.get(name)
      if (buf === undefined) {
        // First step of this parameter: buf = d, no dampening (PyTorch clones d).
        buf = { shape: [...params.get(name)!.shape], data: allocate(params.get(name)!.dtype, n) as FloatArray }
        this.buffers.set(name, buf)
        const b = buf.data
        for (let i = 0; i < n; i++) {
          const d = gd[i] + wd * p[i]
          b[i] = d
          p[i] = p[i] - lr * (nesterov ? d + mu * d : d)
        }
        continue
      }
      const b = buf.data
      for (let i = 0; i < n; i++) {
        const d = gd[i] + wd * p[i]
        const m = mu * b[i] + keep * d
        b[i] = m
        p[i] = p[i] - lr * (nesterov ? d + mu * m : m)
      }
    }
    this.steps++
  }

  /** Forgets all momentum buffers and the step count (a fresh optimizer, same settings). */
  reset(): void {
    this.buffers.clear()
    this.steps = 0
  }

  /** A plain-data copy of the optimizer's state, for checkpoints (JSON-serialisable). */
  exportState(): SGDState {
    const buffers: { [name: string]: SGDBufferState } = {}
    for (const [name, b] of this.buffers) {
      buffers[name] = { shape: [...b.shape], dtype: b.data instanceof Float32Array ? "float32" : "float64", data: Array.from(b.data) }
    }
    return {
      type: "sgd",
      step: this.steps,
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      buffers,
    }
  }

  /**
   * Restores the step count, the learning rate and the momentum buffers saved by
   * {@link exportState}. The other hyper-parameters are fixed at construction; a state
   * saved with different ones is rejected (FormatError) rather than silently mixed.
   */
  importState(state: SGDState): void {
    if (state === null || typeof state !== "object" || state.type !== "sgd") {
      throw new FormatError(`SGD state has type ${JSON.stringify((state as { type?: unknown } | null)?.type)} (expected "sgd")`)
    }
    if (!Number.isInteger(state.step) || state.step < 0) throw new FormatError(`SGD state step = ${state.step} (expected an integer >= 0)`)
    for (const [key, mine] of [
      ["momentum", this.momentum],
      ["dampening", this.dampening],
      ["weightDecay", this.weightDecay],
      ["nesterov", this.nesterov],
    ] as const) {
      if (state[key] !== mine) throw new FormatError(`SGD state has ${key} = ${state[key]} but this optimizer has ${mine} (expected equal settings)`)
    }
    const restored = new Map<string, Buffer>()
    for (const [name, b] of Object.entries(state.buffers ?? {})) {
      if (!isFloatDType(b.dtype)) throw new FormatError(`SGD state buffer '${name}' has dtype ${b.dtype} (expected float32 or float64)`)
      if (!Array.isArray(b.shape) || b.data.length !== sizeOf(b.shape)) {
        throw new FormatError(`SGD state buffer '${name}' holds ${b.data?.length} values for shape ${JSON.stringify(b.shape)}`)
      }
      const data = allocate(b.dtype, b.data.length) as FloatArray
      data.set(b.data)
      restored.set(name, { shape: [...b.shape], data })
    }
    this.buffers.clear()
    for (const [k, v] of restored) this.buffers.set(k, v)
    this.steps = state.step
    this.lr = checkNonNegative(state.lr, "lr", "learning rate")
  }

  /** The momentum buffer of a parameter (a live view; undefined before its first step). */
  momentumBuffer(name: string): Tensor | undefined {
    const b = this.buffers.get(name)
    if (b === undefined) return undefined
    return { shape: b.shape, dtype: b.data instanceof Float32Array ? "float32" : "float64", data: b.data }
  }
}

function checkFinite(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`SGD: ${name} = ${JSON.stringify(v)} (expected a finite number)`)
  return v
}

function checkNonNegative(v: unknown, name: string, what: string): number {
  const x = checkFinite(v, name)
  if (x < 0) throw new AttrError(`SGD: invalid ${what} ${name} = ${x} (expected >= 0)`)
  return x
}
