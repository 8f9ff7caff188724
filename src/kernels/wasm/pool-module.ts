/**
 * The max-pooling functions of the WASM kernel module: the 2x2 / stride-2 forward (values,
 * or values and argmax indices) and the argmax scatter of its backward. Same results, bit
 * for bit, as ../pool/pool2d.ts's maxPool2x2 and ../pool/windows.ts's scatterAddPlanes.
 *
 * The forward runs the JS kernel's tree, four windows at a time in f32x4 lanes: a window's
 * top row pair (a, b) and bottom pair (c, d) are de-interleaved from two row loads by
 * shuffles, then `pick(p, q) = q > p || q != q ? q : p` is applied to (a, b), (c, d) and
 * the two winners. The choice is a lane mask and the value a bitselect of the loaded bits,
 * so ties keep the earlier element, NaN the later one, and -0/+0 and NaN payloads pass
 * through unchanged. Output columns left over (OW mod 4) take the same steps in scalar code.
 *
 * Measured (x [32, 64, 56, 56] float32 in an arena, one thread, min of 15): the f32x4
 * forward with indices 2.2 ms, the same kernel with only the scalar loop 6.0 ms, the JS
 * kernel 11 ms. The scatter is scalar: one data-dependent address per element.
 */
import { Code, f32, i32, v128, type FunctionSpec } from "./emit.ts"

/** Byte lanes that gather f32 lanes 0, 2 (even) or 1, 3 (odd) of two vectors into one. */
const EVEN = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27]
const ODD = EVEN.map((b) => b + 4)

/**
 * maxPool2x2(x, y, planes, H, W, OH, OW) or maxPool2x2Indices(x, y, indices, planes, H, W,
 * OH, OW): byte addresses of x (planes x H x W), y and the int32 indices (planes x OH x OW).
 */
function maxPool2x2(withIndices: boolean): FunctionSpec {
  let n = 0
  const x = n++, y = n++
  const idx = withIndices ? n++ : -1
  const planes = n++, H = n++, W = n++, OH = n++, OW = n++
  const nParams = n
  // i32 locals
  const p = n++, oh = n++, ow = n++, r0 = n++, r1 = n++, plane = n++, i0 = n++, cab = n++, ccd = n++, cm = n++
  const nI32 = n - nParams
  // v128 locals
  const a = n++, b = n++, c = n++, d = n++, mab = n++, mcd = n++, m1 = n++, m2 = n++, m = n++, iv = n++, one = n++, wv = n++, eight = n++
  const nV128 = n - nParams - nI32
  // f32 locals
  const fa = n++, fb = n++, fc = n++, fd = n++, f1 = n++, f2 = n++
  const nF32 = n - nParams - nI32 - nV128

  const k = new Code()
  /** The lanes where `q` beats `p` (q > p, or q is NaN), q then p on the stack consumed. */
  const beats = (pv: number, qv: number): Code => k.get(qv).get(pv).f32x4_gt().get(qv).get(qv).f32x4_ne().v128_or()
  /** Scalar: 1 when `q` beats `p`, else 0. */
  const beatsScalar = (pv: number, qv: number): Code => k.get(qv).get(pv).f32_gt().get(qv).get(qv).f32_ne().i32_or()
  const inc = (local: number, by: number): Code => k.get(local).i32_const(by).i32_add().set(local)

  if (withIndices) {
    k.i32x4_const(1, 1, 1, 1).set(one)
    k.get(W).i32x4_splat().set(wv)
    k.i32x4_const(8, 8, 8, 8).set(eight)
  }
  k.get(x).set(plane)
  k.i32_const(0).set(p)
  k.block().loop()
  k.get(p).get(planes).i32_ge_s().br_if(1)
  k.i32_const(0).set(oh)
  k.block().loop()
  k.get(oh).get(OH).i32_ge_s().br_if(1)
  // i0: in-plane index of the first window's top-left element; r0, r1: its two rows' addresses
  k.get(oh).get(W).i32_mul().i32_const(1).i32_shl().set(i0)
  k.get(plane).get(i0).i32_const(2).i32_shl().i32_add().tee(r0)
  k.get(W).i32_const(2).i32_shl().i32_add().set(r1)
  if (withIndices) k.get(i0).i32x4_splat().i32x4_const(0, 2, 4, 6).i32x4_add().set(iv)
  k.i32_const(0).set(ow)
  // four windows at a time
  k.block().loop()
  k.get(ow).i32_const(4).i32_add().get(OW).i32_gt_s().br_if(1)
  k.get(r0).v128_load({ align: 2 }).get(r0).v128_load({ align: 2, offset: 16 }).i8x16_shuffle(EVEN).set(a)
  k.get(r0).v128_load({ align: 2 }).get(r0).v128_load({ align: 2, offset: 16 }).i8x16_shuffle(ODD).set(b)
  k.get(r1).v128_load({ align: 2 }).get(r1).v128_load({ align: 2, offset: 16 }).i8x16_shuffle(EVEN).set(c)
  k.get(r1).v128_load({ align: 2 }).get(r1).v128_load({ align: 2, offset: 16 }).i8x16_shuffle(ODD).set(d)
  beats(a, b).set(mab)
  k.get(b).get(a).get(mab).v128_bitselect().set(m1)
  beats(c, d).set(mcd)
  k.get(d).get(c).get(mcd).v128_bitselect().set(m2)
  beats(m1, m2).set(m)
  k.get(y).get(m2).get(m1).get(m).v128_bitselect().v128_store({ align: 2 })
  inc(y, 16)
  if (withIndices) {
    // offset in the window: j1 = (b wins), j2 = W + (d wins), then j2 where the bottom pair wins
    k.get(idx)
    k.get(wv).get(mcd).get(one).v128_and().i32x4_add()
    k.get(mab).get(one).v128_and()
    k.get(m).v128_bitselect()
    k.get(iv).i32x4_add().v128_store({ align: 2 })
    inc(idx, 16)
    k.get(iv).get(eight).i32x4_add().set(iv)
  }
  inc(r0, 32)
  inc(r1, 32)
  inc(ow, 4)
  k.br(0).end().end()
  // the remaining windows of the row, one at a time
  k.block().loop()
  k.get(ow).get(OW).i32_ge_s().br_if(1)
  // As the JS kernel does: the choices are 0/1 integers that pick offsets and the winner
  // is reloaded from its offset, so y holds x's bits. Choosing the f32 values with
  // `select` instead made this loop 5x slower on random data (29 vs 6 ms over W2's input,
  // scalar loop only), the cost of mispredicted branches.
  k.get(r0).f32_load().set(fa)
  k.get(r0).f32_load({ offset: 4 }).set(fb)
  k.get(r1).f32_load().set(fc)
  k.get(r1).f32_load({ offset: 4 }).set(fd)
  beatsScalar(fa, fb).set(cab)
  k.get(r0).get(cab).i32_const(2).i32_shl().i32_add().f32_load().set(f1)
  beatsScalar(fc, fd).tee(ccd)
  k.get(W).i32_add().set(ccd) // j2 = W + (d beats c)
  k.get(r0).get(ccd).i32_const(2).i32_shl().i32_add().f32_load().set(f2)
  // j = j1 + (m2 beats m1) * (j2 - j1)
  beatsScalar(f1, f2).get(ccd).get(cab).i32_sub().i32_mul().get(cab).i32_add().set(cm)
  k.get(y).get(r0).get(cm).i32_const(2).i32_shl().i32_add().f32_load().f32_store()
  inc(y, 4)
  if (withIndices) {
    k.get(idx).get(i0).get(ow).i32_const(1).i32_shl().i32_add().get(cm).i32_add().i32_store()
    inc(idx, 4)
  }
  inc(r0, 8)
  inc(r1, 8)
  inc(ow, 1)
  k.br(0).end().end()
  inc(oh, 1)
  k.br(0).end().end()
  k.get(plane).get(H).get(W).i32_mul().i32_const(2).i32_shl().i32_add().set(plane)
  inc(p, 1)
  k.br(0).end().end()
  return {
    name: withIndices ? "maxPool2x2Indices" : "maxPool2x2",
    params: Array(nParams).fill(i32),
    locals: [...Array(nI32).fill(i32), ...Array(nV128).fill(v128), ...Array(nF32).fill(f32)],
    body: k,
  }
}

/**
 * scatterAddPlanes(gy, indices, gx, planes, outPlane, inPlane, clear, mask) -> bad: per
 * plane, zero it first when `clear`, then gx[i] += gy[o] for o in increasing order (the
 * JS kernel's order, so sums over repeated indices round alike) at i = indices[o], -1
 * being skipped. With `mask` (a byte address, 0 for none: address 0 is scratch, never a
 * tensor) an entry is added only where !(mask[i] <= 0). Returns -1, or the flat output
 * position of the first index outside [-1, inPlane) (the caller reports it).
 */
function scatterAddPlanes(): FunctionSpec {
  const [gy, idx, gx, planes, outPlane, inPlane, clear, mask] = [0, 1, 2, 3, 4, 5, 6, 7]
  let n = 8
  const p = n++, o = n++, i = n++, at = n++, maskPlane = n++, end = n++
  const k = new Code()
  const inc = (local: number, by: number): Code => k.get(local).i32_const(by).i32_add().set(local)
  /** One plane's scatter; `masked` adds the relu gate. */
  const scatter = (masked: boolean): void => {
    k.block().loop()
    k.get(o).get(end).i32_ge_s().br_if(1)
    k.get(idx).i32_load().tee(i).get(inPlane).i32_lt_u()
    k.if_()
    k.get(gx).get(i).i32_const(2).i32_shl().i32_add().set(at)
    if (masked) k.get(maskPlane).get(i).i32_const(2).i32_shl().i32_add().f32_load().f32_const(0).f32_le().i32_eqz().if_()
    k.get(at).get(at).f32_load().get(gy).f32_load().f32_add().f32_store()
    if (masked) k.end()
    k.else_()
    k.get(i).i32_const(-1).i32_ne().if_().get(o).return_().end()
    k.end()
    inc(idx, 4)
    inc(gy, 4)
    inc(o, 1)
    k.br(0).end().end()
  }
  k.get(mask).set(maskPlane)
  k.i32_const(0).set(p)
  k.i32_const(0).set(o)
  k.block().loop()
  k.get(p).get(planes).i32_ge_s().br_if(1)
  k.get(clear).if_().get(gx).i32_const(0).get(inPlane).i32_const(2).i32_shl().memory_fill().end()
  k.get(o).get(outPlane).i32_add().set(end)
  k.get(mask).if_()
  scatter(true)
  k.else_()
  scatter(false)
  k.end()
  k.get(gx).get(inPlane).i32_const(2).i32_shl().i32_add().set(gx)
  k.get(maskPlane).get(inPlane).i32_const(2).i32_shl().i32_add().set(maskPlane)
  inc(p, 1)
  k.br(0).end().end()
  k.i32_const(-1)
  return { name: "scatterAddPlanes", params: Array(8).fill(i32), results: [i32], locals: Array(n - 8).fill(i32), body: k }
}

/** The max-pooling functions, in module order. */
export function poolFunctions(): FunctionSpec[] {
  return [maxPool2x2(false), maxPool2x2(true), scatterAddPlanes()]
}
