/**
 * Generic pooling kernels over window tables. Every pooling flavour (max, avg, lp,
 * adaptive) is "for each output position, visit a regular set of in-bounds input
 * positions", and that set factorises per spatial dimension: along each dim the window of
 * output position o reads `count[o]` positions starting at `first[o]`, `step` apart.
 * src/ops/pool/geometry.ts builds these tables (padding, dilation, ceil_mode, adaptive
 * bins are all resolved there); the loops here never test bounds.
 *
 * The kernels work in a canonical 3-d form: 1-d and 2-d problems get leading unit axes
 * (size 1, one window of one position). A flat in-plane index `(d*H + h)*W + w` then equals
 * PyTorch's `l` (1-d) and `h*W + w` (2-d) exactly, so indices need no translation.
 *
 * Planes are the leading (N, C) dims flattened: each plane is pooled independently.
 */
import { KernelError } from "../../errors.ts"
import type { FloatArray } from "../../tensor/dtype.ts"
import { useWasmKernels } from "../backend.ts"
import { scatterAddPlanesWasm } from "../wasm/pool.ts"

/** The windows along one spatial dimension. */
export interface WindowAxis {
  readonly inSize: number
  readonly outSize: number
  /** First in-bounds input position of each output position's window. */
  readonly first: Int32Array
  /** In-bounds positions per window (0 only for a dilated window that lies entirely in padding). */
  readonly count: Int32Array
  /** Distance between consecutive positions of a window (the dilation; 1 for adaptive bins). */
  readonly step: number
  /** This dim's factor of the averaging divisor (pool size counting padding, or the in-bounds count). */
  readonly divisor: Float64Array
}

/** All windows of a pooling problem: `planes` independent planes, three canonical axes (D, H, W). */
export interface Windows {
  readonly planes: number
  readonly axes: readonly [WindowAxis, WindowAxis, WindowAxis]
}

/** A unit axis: size 1, one window reading position 0. Pads 1-d/2-d problems to 3-d. */
export const unitAxis: WindowAxis = Object.freeze({
  inSize: 1,
  outSize: 1,
  first: new Int32Array([0]),
  count: new Int32Array([1]),
  step: 1,
  divisor: new Float64Array([1]),
})

export function inPlaneSize(w: Windows): number {
  return w.axes[0].inSize * w.axes[1].inSize * w.axes[2].inSize
}

export function outPlaneSize(w: Windows): number {
  return w.axes[0].outSize * w.axes[1].outSize * w.axes[2].outSize
}

/**
 * Max pooling, PyTorch's rule: scan each window in increasing flat index and replace the
 * running maximum when `v > max || isnan(v)`, the first in-bounds element being taken
 * unconditionally. Hence: ties keep the lowest index; a window with NaN yields its LAST
 * NaN; a window of only -inf yields its first element. Extensions: `last` replaces on
 * `>=` too (ties keep the highest index); `ignoreNaN` skips NaN (a window of only NaN
 * gives NaN with index -1, i.e. no gradient). A window with no in-bounds element (only
 * possible with dilation) gives -inf with index -1.
 */
export function maxPoolWindows(
  x: FloatArray,
  y: FloatArray,
  indices: Int32Array | undefined,
  w: Windows,
  last: boolean,
  ignoreNaN: boolean,
): void {
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  const inPlane = inPlaneSize(w)
  let o = 0
  for (let p = 0; p < w.planes; p++) {
    const xo = p * inPlane
    for (let od = 0; od < A.outSize; od++) {
      const d0 = A.first[od]
      const nd = A.count[od]
      for (let oh = 0; oh < B.outSize; oh++) {
        const h0 = B.first[oh]
        const nh = B.count[oh]
        for (let ow = 0; ow < C.outSize; ow++, o++) {
          const w0 = C.first[ow]
          const nw = C.count[ow]
          let best = -Infinity
          let arg = -1
          let sawNaN = false
          for (let a = 0; a < nd; a++) {
            const d = d0 + a * A.step
            for (let b = 0; b < nh; b++) {
              const row = (d * H + h0 + b * B.step) * W + w0
              for (let c = 0; c < nw; c++) {
                const i = row + c * C.step
                const v = x[xo + i]
                if (v !== v) {
                  // NaN: PyTorch's `|| isnan(v)` takes every NaN, so the last one wins.
                  if (ignoreNaN) sawNaN = true
                  else {
                    best = v
                    arg = i
                  }
                } else if (arg < 0 || v > best || (last && v === best)) {
                  best = v
                  arg = i
                }
              }
            }
          }
          y[o] = arg < 0 ? (sawNaN ? NaN : -Infinity) : best
          if (indices !== undefined) indices[o] = arg
        }
      }
    }
  }
}

/**
 * Average pooling: y = (sum of the in-bounds window) / divisor, the divisor being
 * `override` when given, else the product of the per-dim divisor factors.
 */
export function avgPoolWindows(x: FloatArray, y: FloatArray, w: Windows, override: number | null): void {
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  const inPlane = inPlaneSize(w)
  let o = 0
  for (let p = 0; p < w.planes; p++) {
    const xo = p * inPlane
    for (let od = 0; od < A.outSize; od++) {
      const d0 = A.first[od]
      const nd = A.count[od]
      for (let oh = 0; oh < B.outSize; oh++) {
        const h0 = B.first[oh]
        const nh = B.count[oh]
        const dh = A.divisor[od] * B.divisor[oh]
        for (let ow = 0; ow < C.outSize; ow++, o++) {
          const w0 = C.first[ow]
          const nw = C.count[ow]
          let s = 0
          for (let a = 0; a < nd; a++) {
            const d = d0 + a * A.step
            for (let b = 0; b < nh; b++) {
              const row = xo + (d * H + h0 + b * B.step) * W + w0
              for (let c = 0; c < nw; c++) s += x[row + c * C.step]
            }
          }
          y[o] = s / (override ?? dh * C.divisor[ow])
        }
      }
    }
  }
}

/**
 * The adjoint of {@link avgPoolWindows}: every in-bounds element of window o receives
 * gy[o] / divisor(o). `gx` must be zero-filled.
 */
export function avgPoolBackwardWindows(gy: FloatArray, gx: FloatArray, w: Windows, override: number | null): void {
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  const inPlane = inPlaneSize(w)
  let o = 0
  for (let p = 0; p < w.planes; p++) {
    const xo = p * inPlane
    for (let od = 0; od < A.outSize; od++) {
      const d0 = A.first[od]
      const nd = A.count[od]
      for (let oh = 0; oh < B.outSize; oh++) {
        const h0 = B.first[oh]
        const nh = B.count[oh]
        const dh = A.divisor[od] * B.divisor[oh]
        for (let ow = 0; ow < C.outSize; ow++, o++) {
          const w0 = C.first[ow]
          const nw = C.count[ow]
          const g = gy[o] / (override ?? dh * C.divisor[ow])
          for (let a = 0; a < nd; a++) {
            const d = d0 + a * A.step
            for (let b = 0; b < nh; b++) {
              const row = xo + (d * H + h0 + b * B.step) * W + w0
              for (let c = 0; c < nw; c++) gx[row + c * C.step] += g
            }
          }
        }
      }
    }
  }
}

/**
 * Power-average pooling: y = (S * K / n) ** (1/p) with S the sum of x**p over the window,
 * n its in-bounds count (the divisor tables) and K the full kernel size. This is PyTorch's
 * `(sign(a) * relu(|a|) * K) ** (1/p)` with a = avg_pool(x**p): for finite a,
 * sign(a) * relu(|a|) = a.
 */
export function lpPoolWindows(x: FloatArray, y: FloatArray, w: Windows, normType: number, kernelVolume: number): void {
  const [A, B, C] = w.axes
  const H = B.inSize
  const W = C.inSize
  const inPlane = inPlaneSize(w)
  const square = normType === 2
  const root = 1 / normType
  let o = 0
  for (let p = 0; p < w.planes; p++) {
    const xo = p * inPlane
    for (let od = 0; od < A.outSize; od++) {
      for (let oh = 0; oh < B.outSize; oh++) {
        for (let ow = 0; ow < C.outSize; ow++, o++) {
          let s = 0
          for (let a = 0; a < A.count[od]; a++) {
            const d = A.first[od] + a * A.step
            for (let b = 0; b < B.count[oh]; b++) {
              const row = xo + (d * H + B.first[oh] + b * B.step) * W + C.first[ow]
              for (let c = 0; c < C.count[ow]; c++) {
                const v = x[row + c * C.step]
                s += square ? v * v : Math.pow(v, normType)
              }
            }
          }
          const n = A.divisor[od] * B.divisor[oh] * C.divisor[ow]
          y[o] = Math.pow((s / n) * kernelVolume, root)
        }
      }
    }
  }
}

/**
 * gx[plane, indices[plane, o]] += gy[plane, o]: max pooling's backward (repeats add up).
 * Index -1 means "no element" (a window of only padding or only ignored NaN) and is
 * skipped. `gx` must be zero-filled, or pass `clear` to have each plane zeroed just before
 * its scatter (one memory pass instead of two). With `mask` (the shape of gx), an entry is
 * added only where !(mask <= 0): relu_backward(gx, mask) folded in, the same values as
 * scattering everything and then zeroing gx where mask <= 0, without that second pass.
 */
export function scatterAddPlanes(gy: FloatArray, indices: Int32Array, gx: FloatArray, planes: number, outPlane: number, inPlane: number, clear = false, mask?: FloatArray): void {
  // float32 work goes to the WASM kernel (same order, same bits) when that backend is on;
  // on a bad index the JS loop below runs too and throws its error
  if (gy instanceof Float32Array && gx instanceof Float32Array && (mask === undefined || mask instanceof Float32Array) && useWasmKernels()) {
    if (scatterAddPlanesWasm(gy, indices, gx, planes, outPlane, inPlane, clear, mask) === "done") return
  }
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane
    // clearing plane by plane keeps it in cache for the scatter that follows
    if (clear) gx.fill(0, xo, xo + inPlane)
    const end = (p + 1) * outPlane
    if (mask !== undefined) {
      scatterPlaneMasked(gy, indices, gx, mask, p * outPlane, end, xo, inPlane)
      continue
    }
    for (let o = p * outPlane; o < end; o++) {
      const i = indices[o]
      if (i >= 0) {
        if (i >= inPlane) throw badIndex(o, i, inPlane)
        gx[xo + i] += gy[o]
      } else if (i !== -1) throw badIndex(o, i, inPlane)
    }
  }
}

/** One plane of {@link scatterAddPlanes} with a mask. */
function scatterPlaneMasked(gy: FloatArray, indices: Int32Array, gx: FloatArray, mask: FloatArray, o0: number, end: number, xo: number, inPlane: number): void {
  for (let o = o0; o < end; o++) {
    const i = indices[o]
    if (i >= 0) {
      if (i >= inPlane) throw badIndex(o, i, inPlane)
      // the max of a window after a relu is rarely <= 0: a well-predicted branch
      if (!(mask[xo + i] <= 0)) gx[xo + i] += gy[o]
    } else if (i !== -1) throw badIndex(o, i, inPlane)
  }
}

/** y[plane, o] = x[plane, indices[plane, o]] (0 where the index is -1): the adjoint of {@link scatterAddPlanes}. */
export function gatherPlanes(x: FloatArray, indices: Int32Array, y: FloatArray, planes: number, outPlane: number, inPlane: number): void {
  for (let p = 0; p < planes; p++) {
    const xo = p * inPlane
    const end = (p + 1) * outPlane
    for (let o = p * outPlane; o < end; o++) {
      const i = indices[o]
      if (i >= 0) {
        if (i >= inPlane) throw badIndex(o, i, inPlane)
        y[o] = x[xo + i]
      } else if (i !== -1) throw badIndex(o, i, inPlane)
    }
  }
}

/**
 * max_unpool: y[plane, indices[plane, i]] = x[plane, i], every other element 0. Writes go
 * in increasing i, so when an index repeats the last write wins (PyTorch's CPU order;
 * repeats from overlapping max-pool windows carry equal values anyway).
 */
export function unpoolPlanes(x: FloatArray, indices: Int32Array, y: FloatArray, planes: number, inPlane: number, outPlane: number, outShape: readonly number[]): void {
  for (let p = 0; p < planes; p++) {
    const yo = p * outPlane
    const end = (p + 1) * inPlane
    for (let i = p * inPlane; i < end; i++) {
      const t = indices[i]
      if (t < 0 || t >= outPlane) {
        throw new KernelError(
          `indices[${i}] = ${t} (plane ${p}) is outside the output plane of ${outPlane} elements [${outShape.join(", ")}] (expected 0 <= index < ${outPlane}; were the indices made by a max pool of another input size?)`,
        )
      }
      y[yo + t] = x[i]
    }
  }
}

function badIndex(o: number, i: number, inPlane: number): KernelError {
  return new KernelError(`indices[${o}] = ${i} is outside the input plane of ${inPlane} elements (expected -1 <= index < ${inPlane})`)
}
