/**
 * The convolution helpers of the WASM kernel module: the bias fill, the ReLU epilogue and
 * the scatter-add of the input gradient (col2im). The GEMMs between them, with the column
 * matrix read through offset tables, are ./gemm-module.ts's.
 */
import { Code, f32, i32, v128, type FunctionSpec } from "./emit.ts"

/**
 * fillRows(y, rows, len, values): y[r, 0:len] = values[r] for r < rows (the bias, before a
 * GEMM accumulates onto it with beta 1, as the JS kernels do).
 */
function fillRows(): FunctionSpec {
  const [y, rows, len, values] = [0, 1, 2, 3]
  const r = 4, k = 5, v = 6, vv = 7
  const c = new Code()
  c.i32_const(0).set(r)
  c.block().loop()
  c.get(r).get(rows).i32_ge_s().br_if(1)
  c.get(values).get(r).i32_const(2).i32_shl().i32_add().f32_load().tee(v).f32x4_splat().set(vv)
  c.i32_const(0).set(k)
  c.block().loop() // four at a time
  c.get(k).i32_const(4).i32_add().get(len).i32_gt_s().br_if(1)
  c.get(y).get(vv).v128_store({ align: 2 })
  c.get(y).i32_const(16).i32_add().set(y)
  c.get(k).i32_const(4).i32_add().set(k)
  c.br(0).end().end()
  c.block().loop() // the rest
  c.get(k).get(len).i32_ge_s().br_if(1)
  c.get(y).get(v).f32_store()
  c.get(y).i32_const(4).i32_add().set(y)
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(r).i32_const(1).i32_add().set(r)
  c.br(0).end().end()
  return { name: "fillRows", params: [i32, i32, i32, i32], locals: [i32, i32, f32, v128], body: c }
}

/** relu(y, n): y = (y <= 0 ? 0 : y) over n float32s, in place (NaN stays NaN, -0 becomes +0). */
function relu(): FunctionSpec {
  const [y, len] = [0, 1]
  const k = 2, v = 3, s = 4
  const c = new Code()
  c.i32_const(0).set(k)
  c.block().loop()
  c.get(k).i32_const(4).i32_add().get(len).i32_gt_s().br_if(1)
  c.get(y)
  c.v128_const0() // bitselect(0, v, v <= 0)
  c.get(y).v128_load({ align: 2 }).tee(v)
  c.get(v).v128_const0().f32x4_le()
  c.v128_bitselect()
  c.v128_store({ align: 2 })
  c.get(y).i32_const(16).i32_add().set(y)
  c.get(k).i32_const(4).i32_add().set(k)
  c.br(0).end().end()
  c.block().loop()
  c.get(k).get(len).i32_ge_s().br_if(1)
  c.get(y)
  c.get(y).f32_load().tee(s).f32_const(0).f32_le().if_f32().f32_const(0).else_().get(s).end()
  c.f32_store()
  c.get(y).i32_const(4).i32_add().set(y)
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  return { name: "relu", params: [i32, i32], locals: [i32, v128, f32], body: c }
}

/**
 * scatterAdd(dst, rowOff, colOff, rows, cols, src): dst[rowOff[r] + colOff[j]] += src[r * cols + j]
 * (rowOff, colOff: byte addresses of int32 element offsets), r ascending, then j. col2im over a
 * (padded) input: rows are taps, columns output positions. Four columns whose offsets are
 * consecutive (stride 1 within an output row) are one vector add.
 */
function scatterAdd(): FunctionSpec {
  const [dst, rowOff, colOff, rows, cols, src] = [0, 1, 2, 3, 4, 5]
  const r = 6, j = 7, rowPtr = 8, off = 9, addr = 10
  const c = new Code()
  c.i32_const(0).set(r)
  c.block().loop()
  c.get(r).get(rows).i32_ge_s().br_if(1)
  c.get(dst).get(rowOff).get(r).i32_const(2).i32_shl().i32_add().i32_load().i32_const(2).i32_shl().i32_add().set(rowPtr)
  c.i32_const(0).set(j)
  c.block().loop()
  c.get(j).get(cols).i32_ge_s().br_if(1)
  c.get(colOff).get(j).i32_const(2).i32_shl().i32_add().set(off)
  c.get(off).i32_load().set(addr)
  // four consecutive offsets: one vector
  c.get(j).i32_const(4).i32_add().get(cols).i32_le_s()
  c.if_i32()
  c.get(off).i32_load({ offset: 12 }).get(addr).i32_sub().i32_const(3).i32_eq()
  c.else_().i32_const(0).end()
  c.if_()
  c.get(rowPtr).get(addr).i32_const(2).i32_shl().i32_add().set(addr)
  c.get(addr)
  c.get(addr).v128_load({ align: 2 }).get(src).v128_load({ align: 2 }).f32x4_add()
  c.v128_store({ align: 2 })
  c.get(src).i32_const(16).i32_add().set(src)
  c.get(j).i32_const(4).i32_add().set(j)
  c.else_()
  c.get(rowPtr).get(addr).i32_const(2).i32_shl().i32_add().set(addr)
  c.get(addr)
  c.get(addr).f32_load().get(src).f32_load().f32_add()
  c.f32_store()
  c.get(src).i32_const(4).i32_add().set(src)
  c.get(j).i32_const(1).i32_add().set(j)
  c.end()
  c.br(0).end().end()
  c.get(r).i32_const(1).i32_add().set(r)
  c.br(0).end().end()
  return { name: "scatterAdd", params: Array(6).fill(i32), locals: Array(5).fill(i32), body: c }
}

/** The convolution helpers, in module order. */
export function convFunctions(): FunctionSpec[] {
  return [fillRows(), relu(), scatterAdd()]
}
