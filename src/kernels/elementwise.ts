import type { DataArray } from "../tensor/dtype.ts"
import { broadcastStrides, sameShape, sizeOf, type Shape } from "../tensor/shape.ts"

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
