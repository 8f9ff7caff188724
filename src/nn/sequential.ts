import { GraphError } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import type { Shape } from "../tensor/shape.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

/** Options of the {@link Sequential} constructor. */
export interface SequentialOptions {
  /** Per-sample input shape (no batch dim), e.g. [1, 28, 28]; lets trainers and summary build the graph. */
  readonly inputShape?: Shape
}

/**
 * Applies its children in order. Children are named by their keys when given as an object
 * or as `[name, module]` pairs (`conv1.weight`), or by their index when given as a plain
 * list (`0.weight`, `2.bias`), as in PyTorch's `nn.Sequential`.
 *
 * @example
 * const net = new Sequential({ fc1: new Linear(784, 256), relu: new ReLU(), fc2: new Linear(256, 10) },
 *                            { inputShape: [784] })
 * namedParameters(net).map((p) => p.name) // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
 */
export class Sequential implements Module {
  readonly type = "Sequential"
  readonly params: readonly ParamSpec[] = []
  readonly children: readonly (readonly [string, Module])[]
  readonly inputShape?: Shape

  constructor(
    layers: readonly Module[] | readonly (readonly [string, Module])[] | { readonly [name: string]: Module },
    options: SequentialOptions = {},
  ) {
    let children: (readonly [string, Module])[]
    if (Array.isArray(layers)) {
      children = (layers as readonly (Module | readonly [string, Module])[]).map((l, i) =>
        Array.isArray(l) ? ([String(l[0]), l[1] as Module] as const) : ([String(i), l as Module] as const),
      )
    } else {
      children = Object.entries(layers as { readonly [name: string]: Module })
    }
    const seen = new Set<string>()
    for (const [name, m] of children) {
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new GraphError(`layer name '${name}' (expected letters, digits and _; dots separate levels)`)
      if (seen.has(name)) throw new GraphError(`two layers are named '${name}' (expected unique names)`)
      if (m === null || typeof m !== "object" || typeof m.forward !== "function") {
        throw new GraphError(`layer '${name}' is not a module (expected an object with forward(x, ctx))`)
      }
      seen.add(name)
    }
    this.children = children
    if (options.inputShape !== undefined) this.inputShape = [...options.inputShape]
  }

  forward(x: Value, ctx: ForwardContext): Value {
    let y = x
    for (const [name, m] of this.children) {
      const c = ctx.child(name, m)
      y = m.forward(y, c)
      ctx.observe(c.path, m, y)
    }
    return y
  }

  /** The child named `name`. */
  get(name: string): Module {
    const found = this.children.find(([n]) => n === name)
    if (found === undefined) throw new GraphError(`no layer '${name}' (expected one of ${this.children.map(([n]) => n).join(", ")})`)
    return found[1]
  }

  describe(): string {
    return `Sequential(${this.children.length} layers)`
  }
}
