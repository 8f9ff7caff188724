/**
 * Pointwise ops from one rule each, the way PyTorch's derivatives.yaml and tinygrad's
 * gradient table declare them: a rule gives `f` and `df`, and {@link pointwiseOp} makes
 * the op, its backward op and both public wrappers. No per-op copies of loops, shape
 * rules or gradient plumbing.
 *
 * The backward op `<name>_backward(gy, x)` computes gy * f' in one loop. Its second input
 * is the tensor the derivative reads: the forward input x, or the forward output y when
 * the rule says `saves: "y"` (exp, sigmoid, tanh and relu read their output, as PyTorch's
 * formulas do, so nothing is recomputed). It has a gradient rule itself, so double
 * backward works: linear in gy, and `d2` (built from graph ops, or "zero") for the saved input.
 */
import { GraphError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { defineOp, type Kernel, type OpDef } from "../../graph/op.ts"
import type { Attrs, TensorSpec } from "../../graph/types.ts"
import { sameShape } from "../../tensor/shape.ts"
import { requireFloat } from "../attrs.ts"
import { mul } from "./arithmetic.ts"

/** One pointwise op, declared once. */
export interface PointwiseRule<P extends readonly unknown[], RawA, A extends Attrs> {
  /** The op's name; its backward op is `<name>_backward`. */
  readonly name: string
  /** One line for the printers, e.g. "max(x, 0)". */
  readonly doc: string
  /** Validates and defaults the attrs (as defineOp's `attrs`); must accept its own output. */
  readonly attrs?: (raw: RawA) => A
  /** The wrapper's arguments after `x`, as raw attrs: `leakyRelu(x, 0.2)`. */
  readonly args?: (...params: P) => RawA
  /** y = f(x) for one element. */
  readonly f: (x: number, attrs: A) => number
  /** Which tensor `df` and `d2` read: the input x or the output y. */
  readonly saves: "x" | "y"
  /** The incoming gradient g times f', for one element, from the saved value v. */
  readonly df: (g: number, v: number, attrs: A) => number
  /**
   * The gradient of gy * f' with respect to the saved tensor, for G = (gradient arriving at
   * the backward op) * gy, built from graph ops; "zero" where f' is piecewise constant (relu,
   * leaky_relu: its derivative is 0 almost everywhere). Without it, double backward through
   * the op's saved tensor is a GraphError, never a silent zero.
   */
  readonly d2?: ((G: Value, v: Value, attrs: A) => Value) | "zero"
  /** Dedicated loops for hot ops (relu), replacing the generic ones. */
  readonly kernels?: { readonly forward?: UnaryKernel<A>; readonly backward?: BackwardKernel<A> }
  /**
   * True when producers (conv, linear, max-pool backward) may apply this op to their own
   * output as an epilogue, instead of the executor running a separate node.
   */
  readonly epilogue?: boolean
}

type UnaryKernel<A> = Kernel<"x", never, "y", never, A>
type BackwardKernel<A> = Kernel<"gy" | "x", never, "y", never, A>

/** What {@link pointwiseOp} makes of a rule. */
export interface PointwiseOp<P extends readonly unknown[], RawA, A extends Attrs> {
  readonly op: OpDef<"x", never, "y", never, RawA, A>
  readonly backwardOp: OpDef<"gy" | "x", never, "y", never, RawA, A>
  /** The public wrapper: `relu(x)`, `leakyRelu(x, 0.2)`. */
  readonly apply: (x: Value, ...params: P) => Value
  /** The backward wrapper: `reluBackward(gy, y)`; the saved tensor is the second argument. */
  readonly backward: (gy: Value, saved: Value, ...params: P) => Value
}

function unaryInfer({ x }: { readonly x: TensorSpec }): { y: TensorSpec } {
  requireFloat(x, "x")
  return { y: x }
}

function backwardInfer({ gy, x }: { readonly gy: TensorSpec; readonly x: TensorSpec }): { y: TensorSpec } {
  requireFloat(gy, "gy")
  requireFloat(x, "x")
  if (!sameShape(gy.shape, x.shape)) throw new ShapeError(`gy ${showShape(gy.shape)} and x ${showShape(x.shape)} differ (expected equal shapes)`)
  return { y: gy }
}

/**
 * Makes a pointwise op, its backward op and their wrappers from one rule.
 *
 * @example
 * const softsign = pointwiseOp({
 *   name: "softsign", doc: "x / (1 + |x|)", saves: "x",
 *   f: (x) => x / (1 + Math.abs(x)),
 *   df: (g, x) => g / ((1 + Math.abs(x)) * (1 + Math.abs(x))),
 * })
 * const y = softsign.apply(x)
 */
export function pointwiseOp<P extends readonly unknown[] = [], RawA = Record<string, never>, A extends Attrs = Record<string, never>>(
  rule: PointwiseRule<P, RawA, A>,
): PointwiseOp<P, RawA, A> {
  const { f, df, d2 } = rule
  const secondDerivative = (d: PointwiseRule<P, RawA, A>["d2"]): ((G: Value, v: Value, attrs: A) => Value) => {
    if (typeof d === "function") return d
    throw new GraphError(`${rule.name}_backward has no second derivative (give d2 in the pointwise rule of ${rule.name}, or "zero" if f' is piecewise constant)`)
  }
  // The normalised attrs are valid raw attrs too (rule.attrs accepts its own output).
  const asRaw = (attrs: A): RawA => attrs as unknown as RawA

  const backwardOp: OpDef<"gy" | "x", never, "y", never, RawA, A> = defineOp<"gy" | "x", "y", never, never, RawA, A>({
    name: `${rule.name}_backward`,
    doc: `gy * ${rule.name}'(${rule.saves})`,
    inputs: ["gy", "x"],
    outputs: ["y"],
    attrs: rule.attrs,
    infer: backwardInfer,
    kernel:
      rule.kernels?.backward ??
      (({ inputs: { gy, x }, outputs: { y }, attrs }) => {
        const g = gy.data
        const v = x.data
        const out = y.data
        for (let i = 0; i < out.length; i++) out[i] = df(g[i], v[i], attrs)
      }),
    overwritesOutputs: true,
    epilogue: rule.epilogue === true ? { input: "gy", mask: "x" } : undefined,
    // Linear in gy (same saved tensor); d2 for the saved tensor, when f' is not piecewise constant.
    grad: ({ inputs: { gy, x }, grads: { y: ggy }, attrs, needsGrad }) => ({
      gy: needsGrad("gy") ? applyBackward(ggy!, x, attrs) : undefined,
      x: !needsGrad("x") || d2 === "zero" ? undefined : secondDerivative(d2)(mul(ggy!, gy), x, attrs),
    }),
  })

  const applyBackward = (gy: Value, saved: Value, attrs: A): Value =>
    gy.builder.apply(backwardOp, { gy, x: saved }, ...([asRaw(attrs)] as [RawA])).y

  const op: OpDef<"x", never, "y", never, RawA, A> = defineOp<"x", "y", never, never, RawA, A>({
    name: rule.name,
    doc: rule.doc,
    inputs: ["x"],
    outputs: ["y"],
    attrs: rule.attrs,
    infer: unaryInfer,
    kernel:
      rule.kernels?.forward ??
      (({ inputs: { x }, outputs: { y }, attrs }) => {
        const a = x.data
        const out = y.data
        for (let i = 0; i < out.length; i++) out[i] = f(a[i], attrs)
      }),
    overwritesOutputs: true,
    epilogue: rule.epilogue === true ? { input: "x" } : undefined,
    grad: ({ inputs: { x }, outputs: { y }, grads: { y: gy }, attrs }) => ({ x: applyBackward(gy!, rule.saves === "x" ? x : y, attrs) }),
  })

  const attrsOf = (params: P): RawA => rule.args?.(...params) ?? ({} as RawA)
  return {
    op,
    backwardOp,
    apply: (x, ...params) => x.builder.apply(op, { x }, ...([attrsOf(params)] as [RawA])).y,
    backward: (gy, saved, ...params) => gy.builder.apply(backwardOp, { gy, x: saved }, ...([attrsOf(params)] as [RawA])).y,
  }
}
