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

/**
 * weightGradRows(gy, ldgy, nC, x, tapOff, nT, rows, rowOff, ow, out, ldgw, accumulate): the
 * weight gradient of one sample for stride-1 output rows, with no packing: for channels
 * c < nC (gy + c * ldgy bytes) and taps t < nT (x + tapOff[t] * 4),
 *   out[c, t] (+)= sum over rows r, j < ow of gy[c, r * ow + j] * x[rowOff[r] + tapOff[t] + j]
 * vectorized along j (consecutive positions of an output row are consecutive in x at
 * stride 1), in tiles of 2 channels x 4 taps: eight accumulators, two gy and one x vector
 * live. A row's last (ow mod 4) positions are one vector with the lanes beyond the row
 * zeroed in both operands (so whatever follows in memory, even a NaN, adds nothing; the
 * arena keeps 16 readable bytes after its data for it). Each sum: lane partial sums over
 * the rows in order, then (lane 0 + lane 1) + (lane 2 + lane 3): fixed bits.
 */
function weightGradRows(): FunctionSpec {
  const [gy, ldgy, nC, x, tapOff, nT, rows, rowOff, ow, out, ldgw, accumulate] = Array.from({ length: 12 }, (_, i) => i)
  let n = 12
  const cp = n++, tq = n++, r = n++, j = n++, gyRow = n++, xRow = n++, g1off = n++, cOut = n++, len = n++
  const to = [n++, n++, n++, n++]
  const s = n++ // f32
  const g0 = n++, g1 = n++, xv = n++, mask = n++
  const acc = Array.from({ length: 8 }, () => n++)
  const c = new Code()
  const load = (addr: () => void, masked: boolean): void => {
    addr()
    c.v128_load({ align: 2 })
    if (masked) c.get(mask).v128_and()
  }
  /** The tile's multiply-adds at column j (masked: the row's tail). */
  const step = (masked: boolean): void => {
    load(() => c.get(gyRow).get(j).i32_const(2).i32_shl().i32_add(), masked)
    c.set(g0)
    load(() => c.get(gyRow).get(g1off).i32_add().get(j).i32_const(2).i32_shl().i32_add(), masked)
    c.set(g1)
    for (let t = 0; t < 4; t++) {
      load(() => c.get(xRow).get(to[t]).i32_add().get(j).i32_const(2).i32_shl().i32_add(), masked)
      c.set(xv)
      c.get(acc[t]).get(g0).get(xv).f32x4_mul().f32x4_add().set(acc[t])
      c.get(acc[4 + t]).get(g1).get(xv).f32x4_mul().f32x4_add().set(acc[4 + t])
    }
  }
  c.i32_const(0).set(cp)
  c.block().loop() // channel pairs
  c.get(cp).get(nC).i32_ge_s().br_if(1)
  // the second channel of the pair: the next one, or the first again when it is the last
  c.get(cp).i32_const(1).i32_add().get(nC).i32_lt_s().if_i32().get(ldgy).else_().i32_const(0).end().set(g1off)
  c.i32_const(0).set(tq)
  c.block().loop() // tap quads
  c.get(tq).get(nT).i32_ge_s().br_if(1)
  // the four taps' byte offsets (taps past nT repeat the quad's first; never stored)
  for (let t = 0; t < 4; t++) {
    c.get(tq).i32_const(t).i32_add().get(nT).i32_lt_s()
    c.if_i32().get(tapOff).get(tq).i32_const(t).i32_add().i32_const(2).i32_shl().i32_add().i32_load()
    c.else_().get(tapOff).get(tq).i32_const(2).i32_shl().i32_add().i32_load().end()
    c.i32_const(2).i32_shl().set(to[t])
  }
  for (const a of acc) c.v128_const0().set(a)
  c.get(gy).get(cp).get(ldgy).i32_mul().i32_add().set(gyRow)
  c.i32_const(0).set(r)
  c.block().loop() // output rows
  c.get(r).get(rows).i32_ge_s().br_if(1)
  c.get(x).get(rowOff).get(r).i32_const(2).i32_shl().i32_add().i32_load().i32_const(2).i32_shl().i32_add().set(xRow)
  c.i32_const(0).set(j)
  c.block().loop()
  c.get(j).i32_const(4).i32_add().get(ow).i32_gt_s().br_if(1)
  step(false)
  c.get(j).i32_const(4).i32_add().set(j)
  c.br(0).end().end()
  c.get(ow).get(j).i32_sub().tee(len)
  c.if_() // the tail: lanes < len
  c.get(len).i32x4_splat().i32x4_const(0, 1, 2, 3).i32x4_gt_s().set(mask)
  step(true)
  c.end()
  c.get(gyRow).get(ow).i32_const(2).i32_shl().i32_add().set(gyRow)
  c.get(r).i32_const(1).i32_add().set(r)
  c.br(0).end().end()
  // store: out[cp + h, tq + t] for the valid channels and taps
  for (let h = 0; h < 2; h++) {
    c.get(cp).i32_const(h).i32_add().get(nC).i32_lt_s()
    c.if_()
    c.get(out).get(cp).i32_const(h).i32_add().get(ldgw).i32_mul().i32_add().get(tq).i32_const(2).i32_shl().i32_add().set(cOut)
    for (let t = 0; t < 4; t++) {
      const a = acc[h * 4 + t]
      c.get(tq).i32_const(t).i32_add().get(nT).i32_lt_s()
      c.if_()
      c.get(a).f32x4_extract_lane(0).get(a).f32x4_extract_lane(1).f32_add()
      c.get(a).f32x4_extract_lane(2).get(a).f32x4_extract_lane(3).f32_add().f32_add().set(s)
      c.get(accumulate).if_().get(s).get(cOut).f32_load({ offset: t * 4 }).f32_add().set(s).end()
      c.get(cOut).get(s).f32_store({ offset: t * 4 })
      c.end()
    }
    c.end()
  }
  c.get(tq).i32_const(4).i32_add().set(tq)
  c.br(0).end().end()
  c.get(cp).i32_const(2).i32_add().set(cp)
  c.br(0).end().end()
  const locals = [...Array(13).fill(i32), f32, ...Array(4 + acc.length).fill(v128)]
  return { name: "weightGradRows", params: Array(12).fill(i32), locals, body: c }
}

/** The convolution helpers, in module order. */
export function convFunctions(): FunctionSpec[] {
  return [fillRows(), relu(), scatterAdd(), weightGradRows()]
}
