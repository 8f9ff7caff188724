/**
 * The convolution helpers of the WASM kernel module: im2col and col2im of one 2-d plane
 * (3-d problems call them per depth slice, ./conv.ts), the bias fill and the ReLU
 * epilogue. The GEMMs between them are ./gemm-module.ts's.
 *
 * Layout as in ../conv/im2col.ts: row (i, j) of a plane's column block holds, for every
 * output position (oy, ox), x[oy * sh - ph + i * dh, ox * sw - pw + j * dw] (0 outside x).
 */
import { Code, f32, i32, v128, type FunctionSpec } from "./emit.ts"

/**
 * Shared loop nest of im2col / col2im: for each tap (i, j) and output row oy, the input row
 * iy and, per ox, the input column ix. `inner(c, xAddr | -1)` emits the per-element work
 * with the column entry's address in local `out`.
 */
function planeLoops(nameOf: string, scatter: boolean): FunctionSpec {
  // params
  const [x, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, col, rowStride] = Array.from({ length: 15 }, (_, i) => i)
  let n = 15
  const i = n++, j = n++, oy = n++, ox = n++, iy = n++, ix = n++, out = n++, rowBase = n++
  const c = new Code()
  c.i32_const(0).set(i)
  c.block().loop()
  c.get(i).get(kh).i32_ge_s().br_if(1)
  c.i32_const(0).set(j)
  c.block().loop()
  c.get(j).get(kw).i32_ge_s().br_if(1)
  // out = col + (i * kw + j) * rowStride * 4
  c.get(col).get(i).get(kw).i32_mul().get(j).i32_add().get(rowStride).i32_mul().i32_const(2).i32_shl().i32_add().set(out)
  c.i32_const(0).set(oy)
  c.block().loop()
  c.get(oy).get(oh).i32_ge_s().br_if(1)
  c.get(oy).get(sh).i32_mul().get(ph).i32_sub().get(i).get(dh).i32_mul().i32_add().set(iy)
  c.get(x).get(iy).get(W).i32_mul().i32_const(2).i32_shl().i32_add().set(rowBase)
  c.get(j).get(dw).i32_mul().get(pw).i32_sub().set(ix)
  c.i32_const(0).set(ox)
  c.block().loop()
  c.get(ox).get(ow).i32_ge_s().br_if(1)
  // inside x when iy < H and ix < W as unsigned (negative indices wrap to huge values)
  const inside = (): Code => c.get(iy).get(H).i32_lt_u().get(ix).get(W).i32_lt_u().i32_and()
  const xAddr = (): Code => c.get(rowBase).get(ix).i32_const(2).i32_shl().i32_add()
  if (!scatter) {
    c.get(out)
    inside().if_f32()
    xAddr().f32_load()
    c.else_().f32_const(0).end()
    c.f32_store()
  } else {
    inside().if_()
    xAddr()
    xAddr().f32_load().get(out).f32_load().f32_add()
    c.f32_store()
    c.end()
  }
  c.get(out).i32_const(4).i32_add().set(out)
  c.get(ix).get(sw).i32_add().set(ix)
  c.get(ox).i32_const(1).i32_add().set(ox)
  c.br(0).end().end()
  c.get(oy).i32_const(1).i32_add().set(oy)
  c.br(0).end().end()
  c.get(j).i32_const(1).i32_add().set(j)
  c.br(0).end().end()
  c.get(i).i32_const(1).i32_add().set(i)
  c.br(0).end().end()
  return { name: nameOf, params: Array(15).fill(i32), locals: Array(8).fill(i32), body: c }
}

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

/** The convolution helpers, in module order. */
export function convFunctions(): FunctionSpec[] {
  return [planeLoops("im2colPlane", false), planeLoops("col2imPlane", true), fillRows(), relu()]
}
