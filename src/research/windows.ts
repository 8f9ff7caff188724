/**
 * Max-pool window geometry as lists of members, for inspection and tie analysis: which
 * flat input positions each output cell of a max-pool node reads. Built from the pooling
 * family's own geometry (src/ops/pool/geometry.ts), so padding, dilation, ceil_mode and
 * adaptive bins are resolved exactly as the kernels resolve them. Browser-safe.
 */
import { GraphError } from "../errors.ts"
import type { Attrs, AttrValue } from "../graph/types.ts"
import type { Windows } from "../kernels/pool.ts"
import { adaptiveOutputSizeAttr, adaptiveWindows, poolParams, poolWindows, resolveAdaptiveSize, tiePolicy, type TiePolicy } from "../ops/pool/geometry.ts"
import type { Shape } from "../tensor/shape.ts"

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
 * Every window of a max-pool node as member lists. `members[o]` holds the flat indices
 * (into the whole input tensor, planes included) that output cell o reads, in increasing
 * order, which is the order PyTorch scans them (so "first" is `members[o][0]` among ties).
 */
export interface WindowList {
  /** Output cells (planes included), in the output's flat order. */
  readonly count: number
  readonly members: readonly Int32Array[]
  /** Elements per (n, c) plane of the input and of the output. */
  readonly inPlane: number
  readonly outPlane: number
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

/** Expands canonical window tables into member lists. */
export function listWindows(w: Windows): WindowList {
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  const inPlane = A.inSize * H * W
  const outPlane = A.outSize * B.outSize * C.outSize
  const members: Int32Array[] = []
  for (let p = 0; p < w.planes; p++) {
    for (let od = 0; od < A.outSize; od++) {
      for (let oh = 0; oh < B.outSize; oh++) {
        for (let ow = 0; ow < C.outSize; ow++) {
          const list = new Int32Array(A.count[od] * B.count[oh] * C.count[ow])
          let k = 0
          for (let a = 0; a < A.count[od]; a++) {
            const d = A.first[od] + a * A.step
            for (let b = 0; b < B.count[oh]; b++) {
              const row = p * inPlane + (d * H + B.first[oh] + b * B.step) * W + C.first[ow]
              for (let c = 0; c < C.count[ow]; c++) list[k++] = row + c * C.step
            }
          }
          members.push(list)
        }
      }
    }
  }
  return { count: members.length, members, inPlane, outPlane }
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
