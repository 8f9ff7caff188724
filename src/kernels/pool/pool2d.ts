/**
 * Fast paths for 2-d max pooling with PyTorch's default policies (ties: first; NaN:
 * propagate), the layer every CNN runs. Same values and indices as maxPoolWindows
 * (src/kernels/pool/windows.ts), which the tests check; these only drop the generality of the 3-d window
 * tables: contiguous planes, flat row offsets, and for the ubiquitous 2x2 / stride 2 /
 * no padding case a straight-line four-element window.
 *
 * The scan rule is written out at each step: the first element is taken, then a later one
 * replaces it when `v > best || v !== v` (greater, or NaN: the last NaN wins).
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import type { WindowAxis } from "./windows.ts"
import { useWasmKernels } from "../backend.ts"
import { maxPool2x2Wasm } from "../wasm/pool.ts"

/**
 * max_pool2d, kernel 2x2, stride 2, no padding, no dilation; H, W may be odd (floor mode
 * drops the tail).
 *
 * Branch-free: on real data the comparisons are unpredictable and mispredicted branches
 * dominate (about 2x on random input), so each comparison becomes a 0/1 integer
 * (`Number(bool)` compiles to a flag move, not a jump) and selects an offset. The window
 * is reduced as a tree, (a, b) and (c, d) then the two winners, which is the same as the
 * sequential scan a, b, c, d: within each pair and between the pairs the later candidate
 * wins only if strictly greater or NaN, so ties keep the earliest and NaN the last.
 * The value is reloaded at the chosen offset, so y is bit-identical to x there (even -0).
 */
export function maxPool2x2(x: FloatArray, y: FloatArray, indices: Int32Array | undefined, planes: number, H: number, W: number, OH: number, OW: number): void {
  // float32 work goes to the WASM SIMD kernel (the same bits) when that backend is on
  if (x instanceof Float32Array && y instanceof Float32Array && useWasmKernels() && maxPool2x2Wasm(x, y, indices, planes, H, W, OH, OW)) return
  // Two loops rather than a test per window: a value-or-undefined operand in the hot loop
  // costs V8 about 2x here.
  if (indices === undefined) maxPool2x2Values(x, y, planes, H, W, OH, OW)
  else maxPool2x2Indices(x, y, indices, planes, H, W, OH, OW)
}

function maxPool2x2Indices(x: FloatArray, y: FloatArray, indices: Int32Array, planes: number, H: number, W: number, OH: number, OW: number): void {
  const inPlane = H * W
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane
    for (let oh = 0; oh < OH; oh++) {
      // flat in-plane index of the window's top-left element
      let i0 = 2 * oh * W
      for (let ow = 0; ow < OW; ow++, o++, i0 += 2) {
        const r0 = base + i0
        const a = x[r0]
        const b = x[r0 + 1]
        const c = x[r0 + W]
        const d = x[r0 + W + 1]
        const j1 = Number(b > a) | Number(b !== b)
        const j2 = W + (Number(d > c) | Number(d !== d))
        const m1 = x[r0 + j1]
        const m2 = x[r0 + j2]
        const j = j1 + (Number(m2 > m1) | Number(m2 !== m2)) * (j2 - j1)
        y[o] = x[r0 + j]
        indices[o] = i0 + j
      }
    }
  }
}

function maxPool2x2Values(x: FloatArray, y: FloatArray, planes: number, H: number, W: number, OH: number, OW: number): void {
  const inPlane = H * W
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane
    for (let oh = 0; oh < OH; oh++) {
      let r0 = base + 2 * oh * W
      for (let ow = 0; ow < OW; ow++, o++, r0 += 2) {
        const a = x[r0]
        const b = x[r0 + 1]
        const c = x[r0 + W]
        const d = x[r0 + W + 1]
        const j1 = Number(b > a) | Number(b !== b)
        const j2 = W + (Number(d > c) | Number(d !== d))
        const m1 = x[r0 + j1]
        const m2 = x[r0 + j2]
        y[o] = x[r0 + j1 + (Number(m2 > m1) | Number(m2 !== m2)) * (j2 - j1)]
      }
    }
  }
}

/**
 * max_pool2d for any kernel, stride, padding, dilation and ceil_mode, over the two window
 * axes (H then W) that the geometry module built. Windows with no in-bounds element give
 * -inf and index -1, like the generic kernel.
 *
 * Branch-free like {@link maxPool2x2}, folded row by row: each window row is scanned with
 * the scan rule, then the row results are folded in row order with the same rule. That
 * equals the row-major scan (ties keep the earliest row, then the earliest column; NaN
 * keeps the last row holding NaN, then its last NaN) and lets the rows' compare chains
 * run in parallel. Full 3-wide rows (the 3x3 pools of ResNet-style stems) are unrolled.
 */
export function maxPool2dAxes(x: FloatArray, y: FloatArray, indices: Int32Array | undefined, planes: number, Hax: WindowAxis, Wax: WindowAxis): void {
  const H = Hax.inSize
  const W = Wax.inSize
  const OH = Hax.outSize
  const OW = Wax.outSize
  const sh = Hax.step * W
  const sw = Wax.step
  const inPlane = H * W
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane
    for (let oh = 0; oh < OH; oh++) {
      const nh = Hax.count[oh]
      const rowStart = base + Hax.first[oh] * W
      for (let ow = 0; ow < OW; ow++, o++) {
        const nw = Wax.count[ow]
        const start = rowStart + Wax.first[ow]
        let arg: number
        if (nh === 3 && nw === 3 && sw === 1) {
          // three independent row scans, then the fold over rows
          const r1 = start + sh
          const r2 = r1 + sh
          let j0 = start + (Number(x[start + 1] > x[start]) | Number(x[start + 1] !== x[start + 1]))
          let v = x[start + 2]
          j0 += (Number(v > x[j0]) | Number(v !== v)) * (start + 2 - j0)
          let j1 = r1 + (Number(x[r1 + 1] > x[r1]) | Number(x[r1 + 1] !== x[r1 + 1]))
          v = x[r1 + 2]
          j1 += (Number(v > x[j1]) | Number(v !== v)) * (r1 + 2 - j1)
          let j2 = r2 + (Number(x[r2 + 1] > x[r2]) | Number(x[r2 + 1] !== x[r2 + 1]))
          v = x[r2 + 2]
          j2 += (Number(v > x[j2]) | Number(v !== v)) * (r2 + 2 - j2)
          v = x[j1]
          arg = j0 + (Number(v > x[j0]) | Number(v !== v)) * (j1 - j0)
          v = x[j2]
          arg += (Number(v > x[arg]) | Number(v !== v)) * (j2 - arg)
        } else if (nh > 0 && nw > 0) {
          arg = start
          for (let a = 0, row = start; a < nh; a++, row += sh) {
            let jr = row
            for (let c = 1, i = row + sw; c < nw; c++, i += sw) {
              const v = x[i]
              jr += (Number(v > x[jr]) | Number(v !== v)) * (i - jr)
            }
            if (a > 0) {
              const v = x[jr]
              arg += (Number(v > x[arg]) | Number(v !== v)) * (jr - arg)
            } else arg = jr
          }
        } else {
          y[o] = -Infinity
          if (indices !== undefined) indices[o] = -1
          continue
        }
        y[o] = x[arg]
        if (indices !== undefined) indices[o] = arg - base
      }
    }
  }
}

/** avg_pool2d, kernel 2x2, stride 2, no padding: every window is full, y = (a + b + c + d) / divisor. */
export function avgPool2x2(x: FloatArray, y: FloatArray, planes: number, H: number, W: number, OH: number, OW: number, divisor: number): void {
  const inPlane = H * W
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane
    for (let oh = 0; oh < OH; oh++) {
      let r0 = base + 2 * oh * W
      for (let ow = 0; ow < OW; ow++, o++, r0 += 2) y[o] = (x[r0] + x[r0 + 1] + x[r0 + W] + x[r0 + W + 1]) / divisor
    }
  }
}

/**
 * The backward of {@link avgPool2x2}: the windows are disjoint, so each element of a window
 * is assigned gy / divisor (elements no window covers keep the zero fill).
 */
export function avgPool2x2Backward(gy: FloatArray, gx: FloatArray, planes: number, H: number, W: number, OH: number, OW: number, divisor: number): void {
  const inPlane = H * W
  let o = 0
  for (let p = 0; p < planes; p++) {
    const base = p * inPlane
    for (let oh = 0; oh < OH; oh++) {
      let r0 = base + 2 * oh * W
      for (let ow = 0; ow < OW; ow++, o++, r0 += 2) {
        const g = gy[o] / divisor
        gx[r0] = g
        gx[r0 + 1] = g
        gx[r0 + W] = g
        gx[r0 + W + 1] = g
      }
    }
  }
}
