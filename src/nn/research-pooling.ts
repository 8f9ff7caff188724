/**
 * Layers for the research pooling variants (src/ops/pool-research), so a study can swap
 * LeNet-5's pooling layers: one small Module class that applies a pooling function, with
 * optional parameters of its own (the learnable mix of mixed pooling).
 */
import type { Value } from "../graph/builder.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

/**
 * A pooling layer given by a function of its input and its context (parameters, seeds,
 * training mode).
 *
 * @example
 * new PoolLayer("LsePool2d", "LsePool2d(2, T=0.5)", (x) => lsePool2d(x, { kernel_size: 2, temperature: 0.5 }))
 */
export class PoolLayer implements Module {
  constructor(
    readonly type: string,
    private readonly text: string,
    private readonly apply: (x: Value, ctx: ForwardContext) => Value,
    readonly params: readonly ParamSpec[] = [],
  ) {}

  forward(x: Value, ctx: ForwardContext): Value {
    return this.apply(x, ctx)
  }

  describe(): string {
    return this.text
  }
}
