import { AttrError } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { elu, gelu, softplus } from "../ops/pointwise/index.ts"
import { sigmoid, tanh } from "../ops/pointwise/index.ts"
import { logSoftmax, softmax } from "../ops/softmax/index.ts"
import type { Module, ParamSpec } from "./module.ts"

/*
 * Activation modules: the functional activations as parameter-free layers, under
 * PyTorch's torch.nn class and argument names. (ReLU and LeakyReLU live in layers.ts.)
 * Each class is its op and its repr; the shared part is here once.
 */

/** A parameter-free layer applying one function; `args` is the inside of its PyTorch repr. */
abstract class Activation implements Module {
  abstract readonly type: string
  readonly params: readonly ParamSpec[] = []
  /** Adds this activation applied elementwise (or along `dim`) to `x`; same shape out. */
  abstract forward(x: Value): Value
  /** The arguments inside the PyTorch repr, e.g. `dim=1`; empty for argument-free activations. */
  protected args(): string {
    return ""
  }
  describe(): string {
    return `${this.type}(${this.args()})`
  }
}

function finite(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new AttrError(`${name} = ${JSON.stringify(v)} (expected a finite number)`)
  return v
}

function dimArg(v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new AttrError(`dim = ${JSON.stringify(v)} (expected an integer; PyTorch's implicit dim=None is deprecated, so name it)`)
  return v
}

/** Passes its input through (torch.nn.Identity), e.g. a residual shortcut. @example new Identity() */
export class Identity extends Activation {
  readonly type = "Identity"
  /** Returns `x` itself: no node is added. */
  forward(x: Value): Value {
    return x
  }
}

/** tanh(x) (torch.nn.Tanh). @example new Tanh() */
export class Tanh extends Activation {
  readonly type = "Tanh"
  /** Adds tanh(x). */
  forward(x: Value): Value {
    return tanh(x)
  }
}

/** 1 / (1 + exp(-x)) (torch.nn.Sigmoid). @example new Sigmoid() */
export class Sigmoid extends Activation {
  readonly type = "Sigmoid"
  /** Adds sigmoid(x). */
  forward(x: Value): Value {
    return sigmoid(x)
  }
}

/**
 * x Phi(x), or its tanh approximation (torch.nn.GELU, `approximate` "none" or "tanh").
 *
 * @example
 * new GELU({ approximate: "tanh" })
 */
export class GELU extends Activation {
  readonly type = "GELU"
  readonly approximate: "none" | "tanh"
  constructor(options: { readonly approximate?: "none" | "tanh" } = {}) {
    super()
    this.approximate = options.approximate ?? "none"
    if (this.approximate !== "none" && this.approximate !== "tanh") throw new AttrError(`approximate = ${JSON.stringify(this.approximate)} (expected "none" or "tanh")`)
  }
  /** Adds gelu(x) with this layer's `approximate`. */
  forward(x: Value): Value {
    return gelu(x, this.approximate)
  }
  /** `approximate='none'` or `approximate='tanh'`, as PyTorch's repr. */
  protected override args(): string {
    return `approximate='${this.approximate}'`
  }
}

/** x if x > 0 else alpha (exp(x) - 1) (torch.nn.ELU, alpha 1). @example new ELU(0.5) */
export class ELU extends Activation {
  readonly type = "ELU"
  constructor(readonly alpha = 1) {
    super()
    finite(alpha, "alpha")
  }
  /** Adds elu(x) with this layer's `alpha`. */
  forward(x: Value): Value {
    return elu(x, this.alpha)
  }
  /** `alpha=...`, as PyTorch's repr. */
  protected override args(): string {
    return `alpha=${this.alpha}`
  }
}

/**
 * log(1 + exp(beta x)) / beta, linear where beta x > threshold (torch.nn.Softplus, beta 1,
 * threshold 20).
 *
 * @example
 * new Softplus(2)
 */
export class Softplus extends Activation {
  readonly type = "Softplus"
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super()
    finite(beta, "beta")
    finite(threshold, "threshold")
  }
  /** Adds softplus(x) with this layer's `beta` and `threshold`. */
  forward(x: Value): Value {
    return softplus(x, this.beta, this.threshold)
  }
  /** `beta=..., threshold=...`, as PyTorch's repr. */
  protected override args(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`
  }
}

/** Softmax along `dim` (torch.nn.Softmax; negative dims count from the end). @example new Softmax(1) */
export class Softmax extends Activation {
  readonly type = "Softmax"
  readonly dim: number
  constructor(dim: number) {
    super()
    this.dim = dimArg(dim)
  }
  /** Adds softmax(x) along `dim`. */
  forward(x: Value): Value {
    return softmax(x, this.dim)
  }
  /** `dim=...`, as PyTorch's repr. */
  protected override args(): string {
    return `dim=${this.dim}`
  }
}

/** log(softmax(x)) along `dim`, computed stably (torch.nn.LogSoftmax). @example new LogSoftmax(1) */
export class LogSoftmax extends Activation {
  readonly type = "LogSoftmax"
  readonly dim: number
  constructor(dim: number) {
    super()
    this.dim = dimArg(dim)
  }
  /** Adds logSoftmax(x) along `dim`. */
  forward(x: Value): Value {
    return logSoftmax(x, this.dim)
  }
  /** `dim=...`, as PyTorch's repr. */
  protected override args(): string {
    return `dim=${this.dim}`
  }
}
