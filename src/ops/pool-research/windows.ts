/**
 * Shared machinery of the research pooling variants (LogSumExp, SoftPool, stochastic,
 * mixed): each one reduces every pooling window with its own rule, so each is written once
 * as "a function of a window's values" over member lists (flat input indices per output
 * cell) built from the pooling family's own geometry (../pool/geometry.ts): padding,
 * ceil_mode and 1-3 spatial dims behave exactly as in max/avg pooling. Padded positions
 * are not members (they take no part, as in max pooling).
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Windows } from "../../kernels/pool/windows.ts"
import type { Shape } from "../../tensor/shape.ts"
import { poolOutputShape, poolParams, poolWindows, type PoolParams } from "../pool/geometry.ts"

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

/** Window geometry attrs shared by the variants (PyTorch's keyword names; stride defaults to kernel_size). */
export interface WindowPoolOptions {
  readonly kernel_size: number | readonly number[]
  readonly stride?: number | readonly number[] | null
  readonly padding?: number | readonly number[]
  readonly ceil_mode?: boolean
}

/** Normalised geometry: spatial arrays of length `dims`, dilation 1. */
export function windowParams(raw: WindowPoolOptions, dims: number): PoolParams {
  return poolParams(raw as { kernel_size?: unknown }, dims, { padding: true, dilation: false })
}

/** The output shape of a window pool with normalised params. */
export function windowOutputShape(inputShape: Shape, p: PoolParams, op: string): number[] {
  const dims = p.kernel_size.length
  if (inputShape.length !== dims + 1 && inputShape.length !== dims + 2) {
    throw new ShapeError(`${op}: input ${showShape(inputShape)} (expected [N, C, ${dims}-d spatial] or [C, ${dims}-d spatial])`)
  }
  return poolOutputShape(inputShape, p)
}

const cache = new Map<string, WindowList>()

/** Member lists of every window (cached per shape and geometry: training reuses them every step). */
export function windowMembers(inputShape: Shape, p: PoolParams): WindowList {
  const key = `${inputShape.join(",")}|${p.kernel_size}|${p.stride}|${p.padding}|${p.ceil_mode}`
  let w = cache.get(key)
  if (w === undefined) {
    if (cache.size > 64) cache.clear()
    w = listWindows(poolWindows(inputShape, p, false))
    cache.set(key, w)
  }
  return w
}

/** A positive finite number attr. */
export function positiveAttr(v: unknown, name: string, op: string, fallback: number): number {
  const x = v === undefined ? fallback : v
  if (typeof x !== "number" || !(x > 0) || !Number.isFinite(x)) throw new AttrError(`${op}: ${name} = ${JSON.stringify(v)} (expected a positive finite number)`)
  return x
}

