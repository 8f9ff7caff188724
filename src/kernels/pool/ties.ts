/**
 * Max-pool gradients under the `split` and `all` tie policies. They need the whole set of
 * tied maxima of each window, which one saved index cannot describe, so they read the
 * forward's saved output y and the input x: the tie set of window o is
 *
 *     T(o) = { i in-bounds in window o : x[i] == y[o] }
 *
 * (NaN counts as equal to a NaN y under `propagate`; under `ignore` NaN is never in a tie
 * set, so a window of only NaN gets no gradient). No argmax search is redone: y is the
 * saved maximum and the comparison only finds who attains it.
 *
 *   split: gx[i] += gy[o] / |T(o)| for i in T(o)     (the subgradient average)
 *   all:   gx[i] += gy[o]          for i in T(o)
 *
 * Both are linear in gy; {@link maxTieTranspose} is their adjoint (gy-shaped), which is
 * what double backward needs.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { inPlaneSize, type Windows } from "./windows.ts"

/** Visits every window; `f(o, xo, target)` gets the output index, the plane offset and y[o]. */
function forEachWindow(w: Windows, visit: (o: number, xo: number, od: number, oh: number, ow: number) => void): void {
  const [A, B, C] = w.axes
  const inPlane = inPlaneSize(w)
  let o = 0
  for (let p = 0; p < w.planes; p++) {
    for (let od = 0; od < A.outSize; od++) {
      for (let oh = 0; oh < B.outSize; oh++) {
        for (let ow = 0; ow < C.outSize; ow++, o++) visit(o, p * inPlane, od, oh, ow)
      }
    }
  }
}

/**
 * Accumulates over the tie set of one window: returns the tie count and, when `acc` is
 * given, calls it for each tied element's flat index (in increasing order).
 */
function tieSet(x: FloatArray, w: Windows, xo: number, od: number, oh: number, ow: number, target: number, ignoreNaN: boolean, acc?: (i: number) => void): number {
  if (target !== target && ignoreNaN) return 0
  const targetNaN = target !== target
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  let n = 0
  for (let a = 0; a < A.count[od]; a++) {
    const d = A.first[od] + a * A.step
    for (let b = 0; b < B.count[oh]; b++) {
      const row = xo + (d * H + B.first[oh] + b * B.step) * W + C.first[ow]
      for (let c = 0; c < C.count[ow]; c++) {
        const i = row + c * C.step
        const v = x[i]
        if (targetNaN ? v !== v : v === target) {
          n++
          if (acc !== undefined) acc(i)
        }
      }
    }
  }
  return n
}

/** gx (zero-filled, x-shaped) += the tie-policy gradient of gy. */
export function maxTieBackward(gy: FloatArray, x: FloatArray, y: FloatArray, gx: FloatArray, w: Windows, split: boolean, ignoreNaN: boolean): void {
  forEachWindow(w, (o, xo, od, oh, ow) => {
    const n = tieSet(x, w, xo, od, oh, ow, y[o], ignoreNaN)
    if (n === 0) return
    const share = split ? gy[o] / n : gy[o]
    tieSet(x, w, xo, od, oh, ow, y[o], ignoreNaN, (i) => {
      gx[i] += share
    })
  })
}

/** out[o] = (1/|T(o)| or 1) * sum of g over T(o): the adjoint of {@link maxTieBackward}. */
export function maxTieTranspose(g: FloatArray, x: FloatArray, y: FloatArray, out: FloatArray, w: Windows, split: boolean, ignoreNaN: boolean): void {
  forEachWindow(w, (o, xo, od, oh, ow) => {
    let s = 0
    const n = tieSet(x, w, xo, od, oh, ow, y[o], ignoreNaN, (i) => {
      s += g[i]
    })
    out[o] = n === 0 ? 0 : split ? s / n : s
  })
}
