/**
 * One factory for max_pool{1,2,3}d and adaptive_max_pool{1,2,3}d: they differ only in
 * their attrs and windows, so both get the same four op records.
 *
 *   <name>(x) -> y, indices?         forward; indices (int32, flat per plane) only when consumed
 *   <name>_backward(gy, indices)     gx = scatter-add of gy at the SAVED indices (tie first/last)
 *   <name>_backward_ties(gy, x, y)   gx for tie split/all: the tie set of each window is
 *                                    read off the SAVED y (x[i] == y[o]); see kernels/pool/ties.ts
 *   <name>_backward_ties_transpose(g, x, y)   the adjoint of the previous one
 *
 * Gradients of the backward ops (double backward): each is linear in its upstream input and
 * piecewise constant in everything else (zero almost everywhere), so
 *   _backward:                d gy = gather_planes(ggx, indices)          (d indices: none)
 *   _backward_ties:           d gy = _backward_ties_transpose(ggx, x, y)  (d x, d y: zero a.e.)
 *   _backward_ties_transpose: d g  = _backward_ties(gg, x, y)
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { Attrs, TensorSpec } from "../../graph/types.ts"
import { maxPoolWindows } from "../../kernels/pool/windows.ts"
import { scatterAddPlanesSplit } from "../../kernels/pool/parallel.ts"
import { maxTieBackward, maxTieTranspose } from "../../kernels/pool/ties.ts"
import { sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { defineOp } from "../../graph/op.ts"
import { splitPoolInput, type NanPolicy, type PoolFamilySpec, type TiePolicy } from "./geometry.ts"
import { checkIndices, floats, gatherPlanes, ints } from "./planes.ts"
import { spatialParam } from "../attrs.ts"

/** Attrs every max-type pool carries. */
export type MaxPolicyAttrs = { tie: TiePolicy; nan: NanPolicy; return_indices: boolean }

export interface MaxFamilySpec<RawA, A extends Attrs & MaxPolicyAttrs & RawA> extends PoolFamilySpec<RawA, A> {
  /** An optional specialised forward; returns false to fall back to the generic kernel. */
  fast?(x: Tensor, y: Tensor, indices: Tensor | undefined, a: A): boolean
}

type WithInput<A> = A & { input_size: number[] }

/**
 * `A extends RawA`: normalised attrs are valid raw attrs (the normalisers are idempotent),
 * so a gradient rule can hand a node's stored attrs to another op of the family.
 */
export function makeMaxFamily<RawA, A extends Attrs & MaxPolicyAttrs & RawA>(spec: MaxFamilySpec<RawA, A>) {
  const { name, dims } = spec
  const withInput = (raw: RawA & { input_size: readonly number[] }): WithInput<A> => ({
    ...spec.attrs(raw),
    input_size: spatialParam(raw.input_size, dims, "input_size", 1),
  })
  /** The x shape a backward op reconstructs from the upstream's leading dims and input_size. */
  const inputShapeOf = (upstream: TensorSpec, a: WithInput<A>): number[] => [...upstream.shape.slice(0, upstream.shape.length - dims), ...a.input_size]
  const checkUpstream = (g: TensorSpec, what: string, xShape: Shape, a: A): void => {
    splitPoolInput(g, dims, what)
    const want = spec.outputShape(xShape, a)
    if (!sameShape(g.shape, want)) throw new ShapeError(`${what} ${showShape(g.shape)} (expected ${showShape(want)}, the ${name} output for input ${showShape(xShape)})`)
  }
  const tieFlags = (a: A): { split: boolean; ignoreNaN: boolean } => {
    if (a.tie !== "split" && a.tie !== "all") {
      throw new AttrError(`tie = "${a.tie}" (expected "split" or "all" here; "first"/"last" use ${name}_backward with the saved indices)`)
    }
    return { split: a.tie === "split", ignoreNaN: a.nan === "ignore" }
  }

  const forward = defineOp({
    name,
    doc: spec.doc,
    inputs: ["x"],
    outputs: ["y"],
    optionalOutputs: ["indices"],
    attrs: spec.attrs,
    infer: ({ x }, a) => {
      splitPoolInput(x, dims)
      const shape = spec.outputShape(x.shape, a)
      return { y: { shape, dtype: x.dtype }, indices: { shape, dtype: "int32" } }
    },
    kernel: ({ inputs: { x }, outputs: { y, indices }, attrs }) => {
      if (spec.fast !== undefined && spec.fast(x, y, indices, attrs)) return
      maxPoolWindows(floats(x), floats(y), indices && ints(indices), spec.windows(x.shape, attrs), attrs.tie === "last", attrs.nan === "ignore")
    },
    // every output element and index is written (-inf / -1 for a window with no element)
    overwritesOutputs: true,
    // The argmax is an output edge: the backward node reads it; the window search is not redone.
    grad: ({ inputs: { x }, outputs: { y, indices }, grads: { y: gy }, attrs }): { x?: Value } => {
      if (gy === undefined) return {}
      const a = { ...attrs, input_size: x.shape.slice(x.shape.length - dims) }
      if (attrs.tie === "split" || attrs.tie === "all") return { x: x.builder.apply(ties, { gy, x, y }, a).y }
      return { x: x.builder.apply(backward, { gy, indices }, a).y }
    },
  })

  const backward = defineOp({
    name: `${name}_backward`,
    doc: `gradient of ${name}: scatter-add of gy at the saved argmax indices`,
    inputs: ["gy", "indices"],
    outputs: ["y"],
    attrs: withInput,
    infer: ({ gy, indices }, a) => {
      const xShape = inputShapeOf(gy, a)
      checkUpstream(gy, "gy", xShape, a)
      checkIndices(indices, gy, "gy")
      return { y: { shape: xShape, dtype: gy.dtype } }
    },
    kernel: ({ inputs: { gy, indices }, outputs: { y }, activation, activationMask }) => {
      const inPlane = sizeOf(y.shape.slice(y.shape.length - dims))
      const outPlane = sizeOf(gy.shape.slice(gy.shape.length - dims))
      if (outPlane === 0) return void floats(y).fill(0)
      const mask = activation === "relu_backward" ? floats(activationMask!) : undefined
      scatterAddPlanesSplit(floats(gy), ints(indices), floats(y), sizeOf(gy.shape) / outPlane, outPlane, inPlane, true, mask)
    },
    // the scatter zeroes each plane itself, just before filling it (one memory pass, not two)
    overwritesOutputs: true,
    // conv -> relu -> max pool: the relu's gradient gates the scatter (no pass of its own)
    activations: ["relu_backward"],
    grad: ({ inputs: { indices }, grads: { y: ggx } }): { gy?: Value } => ({ gy: gatherPlanes(ggx!, indices, dims) }),
  })

  const checkTieInputs = (g: TensorSpec, gName: string, gLike: "x" | "y", x: TensorSpec, y: TensorSpec, a: A): void => {
    splitPoolInput(x, dims)
    checkUpstream(y, "y", x.shape, a)
    if (!sameShape(g.shape, gLike === "x" ? x.shape : y.shape)) {
      throw new ShapeError(`${gName} ${showShape(g.shape)} (expected the shape of ${gLike}, ${showShape(gLike === "x" ? x.shape : y.shape)})`)
    }
    tieFlags(a)
  }

  const ties = defineOp({
    name: `${name}_backward_ties`,
    doc: `gradient of ${name} under tie "split"/"all": tie sets found by comparing x to the saved y`,
    inputs: ["gy", "x", "y"],
    outputs: ["y"],
    attrs: withInput,
    infer: ({ gy, x, y }, a) => {
      checkTieInputs(gy, "gy", "y", x, y, a)
      return { y: { shape: x.shape, dtype: x.dtype } }
    },
    kernel: ({ inputs: { gy, x, y }, outputs: { y: gx }, attrs }) => {
      const { split, ignoreNaN } = tieFlags(attrs)
      maxTieBackward(floats(gy), floats(x), floats(y), floats(gx), spec.windows(x.shape, attrs), split, ignoreNaN)
    },
    grad: ({ inputs: { x, y }, grads: { y: ggx }, attrs }): { gy?: Value } => ({ gy: x.builder.apply(tiesTranspose, { g: ggx!, x, y }, attrs).y }),
  })

  const tiesTranspose = defineOp({
    name: `${name}_backward_ties_transpose`,
    doc: `adjoint of ${name}_backward_ties: per window, the (split: mean, all: sum) of g over the tie set`,
    inputs: ["g", "x", "y"],
    outputs: ["y"],
    attrs: withInput,
    infer: ({ g, x, y }, a) => {
      checkTieInputs(g, "g", "x", x, y, a)
      return { y: { shape: y.shape, dtype: x.dtype } }
    },
    kernel: ({ inputs: { g, x, y }, outputs: { y: gy }, attrs }) => {
      const { split, ignoreNaN } = tieFlags(attrs)
      maxTieTranspose(floats(g), floats(x), floats(y), floats(gy), spec.windows(x.shape, attrs), split, ignoreNaN)
    },
    grad: ({ inputs: { x, y }, grads: { y: gg }, attrs }): { g?: Value } => ({ g: x.builder.apply(ties, { gy: gg!, x, y }, attrs).y }),
  })

  return { forward, backward, ties, tiesTranspose }
}
