import { useWasmKernels } from "../backend.ts"
import { runInArena } from "../wasm/module.ts"
import type { DataArray } from "../../tensor/dtype.ts"
import { broadcastStrides, sameShape, sizeOf, type Shape } from "../../tensor/shape.ts"

/** out[i] = f(a[i]) */
export function mapUnary(a: DataArray, out: DataArray, f: (v: number) => number): void {
  const n = out.length
  for (let i = 0; i < n; i++) out[i] = f(a[i])
}

/**
 * out = f(a, b) with NumPy broadcasting into `outShape`. Fast paths for equal shapes and a
 * scalar right operand; otherwise walks the output with per-operand broadcast strides.
 */
export function mapBinary(
  a: DataArray,
  aShape: Shape,
  b: DataArray,
  bShape: Shape,
  out: DataArray,
  outShape: Shape,
  f: (x: number, y: number) => number,
): void {
  const n = sizeOf(outShape)
  if (sameShape(aShape, outShape) && sameShape(bShape, outShape)) {
    for (let i = 0; i < n; i++) out[i] = f(a[i], b[i])
    return
  }
  if (sameShape(aShape, outShape) && b.length === 1) {
    const bv = b[0]
    for (let i = 0; i < n; i++) out[i] = f(a[i], bv)
    return
  }
  const rank = outShape.length
  const sa = broadcastStrides(aShape, outShape)
  const sb = broadcastStrides(bShape, outShape)
  const index = new Array<number>(rank).fill(0)
  let ia = 0
  let ib = 0
  for (let i = 0; i < n; i++) {
    out[i] = f(a[ia], b[ib])
    // odometer increment of the output index, moving both operand offsets along
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++
      ia += sa[d]
      ib += sb[d]
      if (index[d] < outShape[d]) break
      ia -= sa[d] * outShape[d]
      ib -= sb[d] * outShape[d]
      index[d] = 0
    }
  }
}

/**
 * Sums `x` (of a broadcast shape) down to `shape`: the reverse of broadcasting, used by
 * the gradients of broadcasting ops. `out` must be zero-filled.
 */
export function sumToShape(x: DataArray, xShape: Shape, out: DataArray, shape: Shape): void {
  const n = sizeOf(xShape)
  const rank = xShape.length
  const so = broadcastStrides(shape, xShape)
  if (n > 0 && sumOuterKeptInner(x, xShape, so, out)) return
  const index = new Array<number>(rank).fill(0)
  let io = 0
  for (let i = 0; i < n; i++) {
    out[io] += x[i]
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++
      io += so[d]
      if (index[d] < xShape[d]) break
      io -= so[d] * xShape[d]
      index[d] = 0
    }
  }
}

/**
 * Fast path of {@link sumToShape} for the common reductions (bias gradients over [0, 2, 3]
 * of NCHW or [0] of [N, C], full sums): when x viewed as (outer, kept, inner) has every
 * reduced dim in `outer` or `inner`, out[k] = sum over o, i of x[(o*kept + k)*inner + i].
 * Each contiguous run of `inner` elements is summed in float64 (more accurate than the
 * odometer loop, which rounds to the output dtype after every addition, as PyTorch's
 * float32 reductions also accumulate in a wider or pairwise way) and then added to out[k].
 * Returns false (nothing written) when the shape does not have that form.
 */
function sumOuterKeptInner(x: DataArray, xShape: Shape, so: readonly number[], out: DataArray): boolean {
  if (!(x instanceof Float32Array || x instanceof Float64Array)) return false
  const rank = xShape.length
  // dims of size 1 fit anywhere; the others must read: reduced*, kept*, reduced*
  let outer = 1
  let kept = 1
  let inner = 1
  let phase = 0 // 0 leading reduced, 1 kept, 2 trailing reduced
  for (let d = 0; d < rank; d++) {
    const size = xShape[d]
    if (size === 1) continue
    const reduced = so[d] === 0
    if (phase === 0) {
      if (reduced) outer *= size
      else {
        phase = 1
        kept *= size
      }
    } else if (phase === 1) {
      if (reduced) {
        phase = 2
        inner *= size
      } else kept *= size
    } else if (reduced) inner *= size
    else return false
  }
  if (!(out instanceof Float32Array || out instanceof Float64Array)) return false
  // float32 on the WASM kernels: float32 sums of eight interleaved lanes (../wasm/reduce-module.ts)
  if (x instanceof Float32Array && out instanceof Float32Array && useWasmKernels()) {
    const whole = x.subarray(0, outer * kept * inner)
    const sums = out.subarray(0, kept)
    if (runInArena([whole], [sums], 0, (arena, [xa, outAddr]) => arena.kernels.sumRuns(xa, outer, kept, inner, outAddr))) return true
  }
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < kept; k++) {
      const start = (o * kept + k) * inner
      out[k] += x instanceof Float32Array ? runSum32(x, start, start + inner) : runSum64(x, start, start + inner)
    }
  }
  return true
}

// One contiguous run summed in float64 with four interleaved accumulators: the adds are
// independent, so the loop runs at load speed instead of at one add latency per element
// (bias gradients of conv layers: 3-4x faster). A fixed order, hence fixed bits. One
// copy per array type: a single function seeing both Float32Array and Float64Array runs
// about 30 % slower (polymorphic element loads; measured on LeNet conv1's bias-gradient
// runs, 384 x 784 elements alternating float32/float64: 0.29 vs 0.41 ms).
function runSum32(x: Float32Array, start: number, end: number): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0
  let i = start
  for (; i + 4 <= end; i += 4) {
    a0 += x[i]
    a1 += x[i + 1]
    a2 += x[i + 2]
    a3 += x[i + 3]
  }
  for (; i < end; i++) a0 += x[i]
  return a0 + a1 + (a2 + a3)
}

function runSum64(x: Float64Array, start: number, end: number): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0
  let i = start
  for (; i + 4 <= end; i += 4) {
    a0 += x[i]
    a1 += x[i + 1]
    a2 += x[i + 2]
    a3 += x[i + 3]
  }
  for (; i < end; i++) a0 += x[i]
  return a0 + a1 + (a2 + a3)
}

