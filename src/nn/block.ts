import type { Value } from "../graph/builder.ts"
import type { Shape } from "../tensor/shape.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

function isModule(v: unknown): v is Module {
  return typeof v === "object" && v !== null && typeof (v as Module).forward === "function" && Array.isArray((v as Module).params)
}

/**
 * The sibling of {@link Sequential} for graphs with branches, written like a PyTorch
 * `nn.Module`: assign layers to fields, write `forward` with functional ops, and apply a
 * layer with `ctx.call(this.layer, x)`. Every field holding a module is a child named by
 * the field (an array of modules is a list: `blocks.0`, `blocks.1`, as PyTorch's
 * ModuleList), in the order the fields were assigned, so parameter names match PyTorch's
 * `state_dict` for the same attribute names. A Block may own parameters too (declare
 * `params`, read them with `ctx.param`).
 *
 * @example
 * class Residual extends Block {
 *   conv1 = new Conv2d(16, 16, 3, { padding: 1, bias: false })
 *   bn1 = new BatchNorm2d(16)
 *   forward(x: Value, ctx: ForwardContext): Value {
 *     return relu(add(x, ctx.call(this.bn1, ctx.call(this.conv1, x))))
 *   }
 * }
 * namedParameters(new Residual()).map((p) => p.name) // conv1.weight, bn1.weight, bn1.bias, bn1.running_mean, ...
 */
export abstract class Block implements Module {
  /** Shown by summary; the class name unless a subclass sets it. */
  readonly type: string
  readonly params: readonly ParamSpec[] = []
  /** Per-sample input shape, for trainers and summary (models set it; inner blocks need not). */
  inputShape?: Shape

  constructor() {
    this.type = new.target.name
  }

  /** The modules held by fields, in assignment order; arrays of modules as `field.i`. */
  get children(): readonly (readonly [string, Module])[] {
    const out: (readonly [string, Module])[] = []
    for (const [name, v] of Object.entries(this)) {
      if (isModule(v)) out.push([name, v])
      else if (Array.isArray(v) && v.length > 0 && v.every(isModule)) v.forEach((m: Module, i) => out.push([`${name}.${i}`, m]))
    }
    return out
  }

  abstract forward(x: Value, ctx: ForwardContext): Value

  describe(): string {
    return `${this.type}(${this.children.length} children)`
  }
}
