/**
 * Max-pool window geometry as lists of members, for inspection and tie analysis: which
 * flat input positions each output cell of a max-pool node reads. Built from the pooling
 * family's own geometry (src/ops/pool/geometry.ts), so padding, dilation, ceil_mode and
 * adaptive bins are resolved exactly as the kernels resolve them. Browser-safe.
 */
import { GraphError } from "../errors.ts"
import type { Attrs, AttrValue } from "../graph/types.ts"
import type { Windows } from "../kernels/pool/windows.ts"
import { adaptiveOutputSizeAttr, adaptiveWindows, poolParams, poolWindows, resolveAdaptiveSize, tiePolicy, type TiePolicy } from "../ops/pool/geometry.ts"
import type { Shape } from "../tensor/shape.ts"
import { listWindows, type WindowList } from "../ops/pool-research/windows.ts"
import { fractionalNodeWindowList } from "../ops/pool-research/fractional.ts"
import type { Tensor } from "../tensor/tensor.ts"

export { listWindows, type WindowList }

/** The max-pool ops whose windows this module knows, by registry name. */
export type MaxPoolKind =
  | "max_pool1d"
  | "max_pool2d"
  | "max_pool3d"
  | "adaptive_max_pool1d"
  | "adaptive_max_pool2d"
  | "adaptive_max_pool3d"

const KINDS: readonly MaxPoolKind[] = ["max_pool1d", "max_pool2d", "max_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"]

/** True when `op` is one of the built-in max-pool forward ops. */
export function isMaxPoolKind(op: string): op is MaxPoolKind {
  return (KINDS as readonly string[]).includes(op)
}

/** Number of spatial dims of a max-pool kind. */
export function kindDims(kind: MaxPoolKind): 1 | 2 | 3 {
  return Number(kind.charAt(kind.length - 2)) as 1 | 2 | 3
}

/**
 * The windows of max-pool `kind` with (raw or normalised) `attrs` on an input of `inputShape`.
 *
 * @example
 * const w = maxPoolWindowList("max_pool1d", { kernel_size: 2, stride: 2, padding: 1, ceil_mode: true }, [1, 1, 5])
 * w.members.map((m) => [...m]) // [[0], [1, 2], [3, 4]]
 */
export function maxPoolWindowList(kind: MaxPoolKind, attrs: Attrs, inputShape: Shape): WindowList {
  return listWindows(maxPoolWindows(kind, attrs, inputShape))
}

function maxPoolWindows(kind: MaxPoolKind, attrs: Attrs, inputShape: Shape): Windows {
  const dims = kindDims(kind)
  if (kind.startsWith("adaptive")) return adaptiveWindows(inputShape, resolveAdaptiveSize(inputShape, adaptiveOutputSizeAttr(attrs.output_size, dims)))
  return poolWindows(inputShape, poolParams(attrs as { kernel_size?: AttrValue }, dims, { padding: true, dilation: true }), false)
}

/**
 * The output shape of max-pool `kind` with `attrs` on `inputShape` (leading dims kept), for
 * custom ops that declare a max-pool geometry (`treatAs`) and need it in their `infer`.
 *
 * @example
 * maxPoolOutputShape("max_pool1d", { kernel_size: 3, stride: 1 }, [1, 1, 6]) // [1, 1, 4]
 */
export function maxPoolOutputShape(kind: MaxPoolKind, attrs: Attrs, inputShape: Shape): number[] {
  const dims = kindDims(kind)
  const w = maxPoolWindows(kind, attrs, inputShape)
  return [...inputShape.slice(0, inputShape.length - dims), ...w.axes.slice(3 - dims).map((a) => a.outSize)]
}

/** The tie policy stored in a max-pool node's attrs ("first" when absent). */
export function tieOf(attrs: Attrs): TiePolicy {
  return tiePolicy(attrs.tie)
}

/**
 * Resolves which max-pool geometry an op name has: a built-in max pool, or a custom op
 * declared to have one (`treatAs`), e.g. a deliberately wrong max pool in a test.
 */
export function resolveMaxPoolKind(op: string, treatAs: { readonly [op: string]: MaxPoolKind } = {}): MaxPoolKind | undefined {
  const declared = treatAs[op]
  if (declared !== undefined) {
    if (!isMaxPoolKind(declared)) throw new GraphError(`treatAs['${op}'] = '${String(declared)}' (expected one of ${KINDS.join(", ")})`)
    return declared
  }
  return isMaxPoolKind(op) ? op : undefined
}

/** The fractional max-pool ops, whose windows also depend on the node's `samples` / `seed` inputs. */
export type FractionalKind = "fractional_max_pool2d" | "fractional_max_pool3d"

/** Every pooling geometry the tie-aware checker knows: a max pool or a fractional max pool. */
export type TieGeometry = MaxPoolKind | FractionalKind

/** True when `op` is fractional_max_pool2d or fractional_max_pool3d. */
export function isFractionalKind(op: string): op is FractionalKind {
  return op === "fractional_max_pool2d" || op === "fractional_max_pool3d"
}

/**
 * {@link resolveMaxPoolKind} that also knows the fractional max pools (built-in, or declared
 * with `treatAs`: a custom op with fractional attrs and the same `samples` / `seed` inputs).
 */
export function resolveTieGeometry(op: string, treatAs: { readonly [op: string]: TieGeometry } = {}): TieGeometry | undefined {
  const declared = treatAs[op]
  if (declared !== undefined && isFractionalKind(declared)) return declared
  if (declared === undefined && isFractionalKind(op)) return op
  return resolveMaxPoolKind(op, treatAs as { readonly [op: string]: MaxPoolKind })
}

/**
 * The windows of a node of geometry `kind` on input `x`. `inputs` are the node's other
 * inputs' values: a fractional pool's windows depend on its `samples` (or `seed`).
 *
 * @example
 * nodeWindowList("fractional_max_pool2d", { kernel_size: 2, output_size: [3, 3] }, x, { samples }).members[0]
 */
export function nodeWindowList(kind: TieGeometry, attrs: Attrs, x: Tensor, inputs: { readonly [name: string]: Tensor } = {}): WindowList {
  if (isFractionalKind(kind)) return fractionalNodeWindowList(kind === "fractional_max_pool2d" ? 2 : 3, x, attrs as never, { samples: inputs.samples, seed: inputs.seed })
  return maxPoolWindowList(kind, attrs, x.shape)
}

/**
 * The tie set of each window: members whose value is within `tol * max(1, |max|)` of the
 * window maximum (exact ties for tol = 0). NaN values are never members; a window whose
 * max is NaN (or which is empty) gets an empty set.
 */
export function tieSets(x: ArrayLike<number>, windows: WindowList, tol = 0): Int32Array[] {
  return windows.members.map((m) => {
    let max = -Infinity
    let nan = false
    for (let k = 0; k < m.length; k++) {
      const v = x[m[k]]
      if (v !== v) nan = true
      else if (v > max) max = v
    }
    if (m.length === 0 || nan) return new Int32Array(0)
    const bound = max === -Infinity || max === Infinity ? 0 : tol * Math.max(1, Math.abs(max))
    const out: number[] = []
    for (let k = 0; k < m.length; k++) {
      const v = x[m[k]]
      if (v === max || max - v <= bound) out.push(m[k])
    }
    return Int32Array.from(out)
  })
}
