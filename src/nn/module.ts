import { GraphError, ShapeError, showShape } from "../errors.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import type { FloatDType } from "../tensor/dtype.ts"
import { Random } from "../tensor/random.ts"
import { sameShape, type Shape } from "../tensor/shape.ts"
import type { Tensor } from "../tensor/tensor.ts"
import { initTensor, type Initializer } from "./init.ts"

/**
 * A parameter or buffer a module owns, under its local name (`weight`, `bias`,
 * `running_mean`). Trainable parameters get gradients and optimizer updates; buffers
 * (`trainable: false`) are read from the store like parameters but only ever change when
 * the trainer writes back an updated value the module reported (batch norm statistics).
 */
export interface ParamSpec {
  readonly name: string
  readonly shape: Shape
  readonly init: Initializer
  readonly trainable: boolean
}

/** A parameter of a model under its full, dotted name (`conv1.weight`, `0.bias`). */
export interface NamedParam extends ParamSpec {
  /** The owning module's path (`conv1`, `features.0`; `""` for the root). */
  readonly module: string
}

/**
 * A layer or a container of layers. A module is a description, not a holder of values:
 * its parameters live in a {@link ParamStore} under dotted names, and `forward` adds graph
 * nodes for one application of the layer to a symbolic input.
 *
 * Naming: a module's own parameters are `weight`, `bias`, ...; a container prefixes each
 * child's names with the child's name and a dot, exactly as PyTorch's `named_parameters()`
 * does. {@link Sequential} names children by their key (`conv1`) or, given a plain list,
 * by their index (`0`, `1`, ...), so `conv1.weight` or `0.weight`.
 *
 * @example
 * class Scale implements Module {
 *   readonly type = "Scale"
 *   readonly params = [{ name: "s", shape: [1], init: { kind: "constant", value: 1 }, trainable: true }]
 *   forward(x: Value, ctx: ForwardContext): Value { return mul(x, ctx.param("s")) }
 * }
 */
export interface Module {
  /** The class-like name shown by `summary` (`Conv2d`, `ReLU`). */
  readonly type: string
  /** This module's own parameters and buffers, in PyTorch's order (weight before bias). */
  readonly params: readonly ParamSpec[]
  /** Named sub-modules, in order (containers only). */
  readonly children?: readonly (readonly [string, Module])[]
  /** Per-sample input shape (no batch dim), when the module knows it (models do). */
  readonly inputShape?: Shape
  /** Adds the nodes of this layer applied to `x`. */
  forward(x: Value, ctx: ForwardContext): Value
  /** One line for `summary`: `Conv2d(1, 6, kernel_size=[5, 5], padding=[2, 2])`. */
  describe?(): string
}

/** Called by containers after each child's forward (summary uses it to see shapes). */
export type LayerObserver = (path: string, module: Module, output: Value) => void

interface SharedState {
  readonly builder: GraphBuilder
  readonly training: boolean
  readonly values: Map<string, Value>
  readonly specs: Map<string, NamedParam>
  readonly bufferUpdates: Map<string, Value>
  readonly seedInputs: Map<string, Value>
  readonly observer: LayerObserver | undefined
}

/**
 * What `forward` receives: the mode (training or inference), and the module's scope, which
 * turns local parameter names into graph parameter nodes named by their full dotted name
 * (so a printed graph reads `conv1.weight`). Containers hand each child `ctx.child(name)`.
 */
export class ForwardContext {
  private constructor(
    private readonly shared: SharedState,
    /** The module path this context scopes (`""` at the root, `conv1`, `features.0`). */
    readonly path: string,
    private readonly module: Module | undefined,
  ) {}

  /** A root context on `builder` for applying `model`. */
  static root(builder: GraphBuilder, model: Module, options: { training: boolean; observer?: LayerObserver }): ForwardContext {
    const shared: SharedState = {
      builder,
      training: options.training,
      values: new Map(),
      specs: new Map(),
      bufferUpdates: new Map(),
      seedInputs: new Map(),
      observer: options.observer,
    }
    return new ForwardContext(shared, "", model)
  }

  /** True while building a training graph (dropout active, batch norm uses batch stats). */
  get training(): boolean {
    return this.shared.training
  }

  get builder(): GraphBuilder {
    return this.shared.builder
  }

  /** The full dotted name of a local name in this scope. */
  qualify(local: string): string {
    return this.path === "" ? local : `${this.path}.${local}`
  }

  /** The context of the child module `name` (containers call this). */
  child(name: string, module: Module): ForwardContext {
    return new ForwardContext(this.shared, this.qualify(name), module)
  }

  /**
   * The graph node of this module's parameter or buffer `local` (declared in its
   * `params`). Asking twice returns the same node (shared weights stay shared).
   */
  param(local: string): Value {
    const spec = this.module?.params.find((p) => p.name === local)
    if (spec === undefined) {
      throw new GraphError(
        `module '${this.path || "<root>"}' (${this.module?.type ?? "?"}) has no parameter '${local}' (expected one of ${
          this.module?.params.map((p) => p.name).join(", ") || "none"
        })`,
      )
    }
    const full = this.qualify(local)
    const existing = this.shared.values.get(full)
    if (existing !== undefined) return existing
    const v = this.shared.builder.param(full, spec.shape)
    this.shared.values.set(full, v)
    this.shared.specs.set(full, { ...spec, name: full, module: this.path })
    return v
  }

  /**
   * Reports the new value of the buffer `local` after this training step (batch norm's
   * updated running statistics). The trainer fetches it and writes it into the store.
   */
  updateBuffer(local: string, value: Value): void {
    const spec = this.module?.params.find((p) => p.name === local)
    if (spec === undefined || spec.trainable) {
      throw new GraphError(`module '${this.path || "<root>"}' has no buffer '${local}' (expected a non-trainable entry of its params)`)
    }
    if (!sameShape(spec.shape, value.shape)) {
      throw new ShapeError(`buffer '${this.qualify(local)}' update has shape ${showShape(value.shape)} (expected ${showShape(spec.shape)})`)
    }
    this.shared.bufferUpdates.set(this.qualify(local), value)
  }

  /**
   * An int32 scalar graph input for this module's randomness (dropout masks), named
   * `<path>.seed`. Whoever runs the graph feeds a fresh value per step (the Trainer draws
   * them from its seeded stream), so masks differ between steps and replay exactly.
   */
  seedInput(): Value {
    const name = this.qualify("seed")
    const existing = this.shared.seedInputs.get(name)
    if (existing !== undefined) return existing
    const v = this.shared.builder.input(name, [], "int32")
    this.shared.seedInputs.set(name, v)
    return v
  }

  /**
   * Applies `child`, a child module of this context's module, to `x` (and to any further
   * inputs its forward takes, e.g. MaxUnpool's indices) in the child's scope, and reports
   * its output to the observer (summary rows): what `self.conv1(x)` is in a PyTorch
   * forward. See {@link Block}.
   *
   * @example
   * forward(x: Value, ctx: ForwardContext): Value { return relu(ctx.call(this.bn1, ctx.call(this.conv1, x))) }
   */
  call(child: Module, x: Value, ...rest: readonly unknown[]): Value {
    const entry = this.module?.children?.find(([, m]) => m === child)
    if (entry === undefined) {
      throw new GraphError(
        `module '${this.path || "<root>"}' (${this.module?.type ?? "?"}) has no child ${child.type} (expected one of its children: ${
          this.module?.children?.map(([n]) => n).join(", ") || "none"
        }; assign the layer to a field of the Block)`,
      )
    }
    const c = this.child(entry[0], child)
    const forward: (x: Value, ctx: ForwardContext, ...rest: readonly unknown[]) => Value = child.forward
    const y = forward.call(child, x, c, ...rest)
    this.observe(c.path, child, y)
    return y
  }

  /** Containers call this after a child's forward. */
  observe(path: string, module: Module, output: Value): void {
    this.shared.observer?.(path, module, output)
  }

  /** Parameter and buffer nodes created so far, by full name, in creation order. */
  get paramValues(): ReadonlyMap<string, Value> {
    return this.shared.values
  }

  get paramSpecs(): ReadonlyMap<string, NamedParam> {
    return this.shared.specs
  }

  get bufferUpdates(): ReadonlyMap<string, Value> {
    return this.shared.bufferUpdates
  }

  get seedInputs(): ReadonlyMap<string, Value> {
    return this.shared.seedInputs
  }
}

/**
 * Every parameter and buffer of `model` with its full dotted name, depth first in
 * declaration order: the order PyTorch's `named_parameters()` lists them, and the order
 * {@link initParameters} draws them in.
 */
export function namedParameters(model: Module, prefix = ""): NamedParam[] {
  const out: NamedParam[] = []
  const q = (n: string): string => (prefix === "" ? n : `${prefix}.${n}`)
  for (const p of model.params) out.push({ ...p, name: q(p.name), module: prefix })
  for (const [name, child] of model.children ?? []) out.push(...namedParameters(child, q(name)))
  const seen = new Set<string>()
  for (const p of out) {
    if (seen.has(p.name)) throw new GraphError(`two parameters are named '${p.name}' (expected unique names: rename a layer)`)
    seen.add(p.name)
  }
  return out
}

/** Number of trainable scalars (buffers excluded, as PyTorch and Keras count them). */
export function countParameters(model: Module): number {
  let n = 0
  for (const p of namedParameters(model)) if (p.trainable) n += p.shape.reduce((a, b) => a * b, 1)
  return n
}

export interface InitOptions {
  /** Seed of the PRNG (default 0). Ignored when `random` is given. */
  readonly seed?: number
  /** A PRNG to draw from (continues its stream). */
  readonly random?: Random
  /** Float dtype of the tensors (default float32). */
  readonly dtype?: FloatDType
}

/**
 * A fresh parameter store for `model`: every parameter and buffer initialised by its
 * initialiser, drawn in {@link namedParameters} order from one seeded stream, so a seed
 * determines the store bit for bit.
 *
 * @example
 * const params = initParameters(lenet5(), { seed: 42 })
 * params.get("conv1.weight")!.shape // [6, 1, 5, 5]
 */
export function initParameters(model: Module, options: InitOptions = {}): Map<string, Tensor> {
  const random = options.random ?? new Random(options.seed ?? 0)
  const dtype = options.dtype ?? "float32"
  const store = new Map<string, Tensor>()
  for (const p of namedParameters(model)) store.set(p.name, initTensor(p.init, p.shape, dtype, random))
  return store
}

export interface BuildOptions {
  readonly batchSize: number
  /** Per-sample input shape; default `model.inputShape`. */
  readonly inputShape?: Shape
  readonly dtype?: FloatDType
  /** Training graph (dropout on, batch norm on batch statistics). Default false. */
  readonly training?: boolean
  /** Builder to add to (default: a new one of `dtype`); the input is named `inputName`. */
  readonly builder?: GraphBuilder
  /** Name of the input node (default `x`). */
  readonly inputName?: string
  readonly observer?: LayerObserver
}

/** A model applied to a symbolic batch. */
export interface ModelGraph {
  readonly builder: GraphBuilder
  readonly input: Value
  readonly output: Value
  /** Parameter and buffer nodes by full name. */
  readonly params: ReadonlyMap<string, Value>
  /** The trainable ones, in namedParameters order (the `wrt` of grad). */
  readonly trainable: ReadonlyMap<string, Value>
  /** New values of buffers after a training step, by full name. */
  readonly bufferUpdates: ReadonlyMap<string, Value>
  /** int32 scalar inputs to feed a fresh seed each run (dropout), by input name. */
  readonly seedInputs: ReadonlyMap<string, Value>
}

/**
 * Builds the graph of `model` on a batch of `batchSize`. Shapes in a graph are concrete,
 * so the graph is for this batch size only: to run another batch size (the last partial
 * batch of an epoch), call again with it; building is cheap (no kernels run).
 *
 * @example
 * const { builder, output } = buildModelGraph(lenet5(), { batchSize: 64 })
 */
export function buildModelGraph(model: Module, options: BuildOptions): ModelGraph {
  const inputShape = options.inputShape ?? model.inputShape
  if (inputShape === undefined) {
    throw new ShapeError(`model ${model.type} has no inputShape (expected options.inputShape, e.g. [1, 28, 28])`)
  }
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new ShapeError(`batch size ${options.batchSize} (expected an integer >= 1)`)
  }
  const builder = options.builder ?? new GraphBuilder({ dtype: options.dtype ?? "float32" })
  const input = builder.input(options.inputName ?? "x", [options.batchSize, ...inputShape])
  const ctx = ForwardContext.root(builder, model, { training: options.training ?? false, observer: options.observer })
  const output = model.forward(input, ctx)
  // Trainable params in declaration order (stable grads order, independent of use order).
  const trainable = new Map<string, Value>()
  for (const p of namedParameters(model)) {
    const v = ctx.paramValues.get(p.name)
    if (p.trainable && v !== undefined) trainable.set(p.name, v)
  }
  return { builder, input, output, params: ctx.paramValues, trainable, bufferUpdates: ctx.bufferUpdates, seedInputs: ctx.seedInputs }
}
