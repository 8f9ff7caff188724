/**
 * The float32 GEMM functions of the WASM kernel module (see ./module.ts): packing op(A) into
 * 4-row panels and op(B) into 8-column panels, and the 4x8 register-tile micro-kernel that
 * multiplies one pair of panels.
 *
 * Why 4x8: a 4x8 tile of C is eight v128 accumulators; with two B vectors and one splat of
 * A that is eleven live vectors, inside the fifteen SIMD registers V8 allocates on x64.
 * Larger tiles, or a hand-unrolled k loop, spill and run at about half the speed. A is
 * read with `v128.load32_splat` straight from its packed panel (one load per multiply of
 * a row), B with two full-width loads per k.
 *
 * Every C element is the sum over k of its block, ascending, in float32, then
 * `C = beta * C + alpha * acc` (`C = alpha * acc` when overwriting): the order depends on
 * K's blocking only (./gemm.ts), never on where the element sits or how M and N are split.
 */
import { Code, f32, i32, v128, type FunctionSpec } from "./emit.ts"

/** Rows of the register tile. */
export const TILE_ROWS = 4
/** Columns of the register tile. */
export const TILE_COLS = 8

/**
 * packA(src, lda, trans, mc, kc, dst): dst[(p * kc + k) * 4 + i] = op(A)[p * 4 + i, k] for
 * rows < mc (0 beyond), where op(A)[i, k] = src[i * lda + k] (trans = 0) or src[k * lda + i].
 * Pointers are byte addresses, strides in elements.
 */
function packA(): FunctionSpec {
  const [src, lda, trans, mc, kc, dst] = [0, 1, 2, 3, 4, 5]
  const [row, k, i, rowStep, kStep, addr] = [6, 7, 8, 9, 10, 11]
  const p = [12, 13, 14, 15]
  const c = new Code()
  // element steps in bytes: moving one row of op(A) and one k
  c.get(trans).if_().i32_const(4).set(rowStep).get(lda).i32_const(2).i32_shl().set(kStep)
  c.else_().get(lda).i32_const(2).i32_shl().set(rowStep).i32_const(4).set(kStep).end()
  c.i32_const(0).set(row)
  c.block().loop() // panels
  c.get(row).get(mc).i32_ge_s().br_if(1)
  c.i32_const(0).set(k)
  // a full panel: four row pointers walked along k (one vector when A is transposed: its
  // four rows are neighbours in memory), no bounds checks
  c.get(row).i32_const(TILE_ROWS).i32_add().get(mc).i32_le_s()
  c.if_()
  c.get(src).get(row).get(rowStep).i32_mul().i32_add().set(p[0])
  for (let r = 1; r < TILE_ROWS; r++) c.get(p[r - 1]).get(rowStep).i32_add().set(p[r])
  c.block().loop()
  c.get(k).get(kc).i32_ge_s().br_if(1)
  c.get(trans).if_()
  c.get(dst).get(p[0]).v128_load({ align: 0 }).v128_store({ align: 0 })
  c.else_()
  for (let r = 0; r < TILE_ROWS; r++) c.get(dst).get(p[r]).f32_load().f32_store({ offset: r * 4 })
  c.end()
  for (let r = 0; r < TILE_ROWS; r++) c.get(p[r]).get(kStep).i32_add().set(p[r])
  c.get(dst).i32_const(16).i32_add().set(dst)
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(row).i32_const(TILE_ROWS).i32_add().set(row)
  c.br(1)
  c.end()
  c.block().loop() // k
  c.get(k).get(kc).i32_ge_s().br_if(1)
  c.i32_const(0).set(i)
  c.block().loop() // rows of the panel
  c.get(i).i32_const(TILE_ROWS).i32_ge_s().br_if(1)
  c.get(dst)
  c.get(row).get(i).i32_add().get(mc).i32_lt_s()
  c.if_f32()
  c.get(src).get(row).get(i).i32_add().get(rowStep).i32_mul().i32_add().get(k).get(kStep).i32_mul().i32_add().set(addr)
  c.get(addr).f32_load()
  c.else_()
  c.f32_const(0)
  c.end()
  c.f32_store()
  c.get(dst).i32_const(4).i32_add().set(dst)
  c.get(i).i32_const(1).i32_add().set(i)
  c.br(0).end().end()
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(row).i32_const(TILE_ROWS).i32_add().set(row)
  c.br(0).end().end()
  return { name: "packA", params: [i32, i32, i32, i32, i32, i32], locals: Array(10).fill(i32), body: c }
}

/**
 * The scalar loop of a panel with fewer than eight columns: dst[j] = the element at
 * `address(j)` for columns col + j < nc, 0 beyond (j, col, nc, dst: locals; dst advances).
 */
function edgePanel(c: Code, j: number, col: number, nc: number, dst: number, address: () => void): void {
  c.i32_const(0).set(j)
  c.block().loop()
  c.get(j).i32_const(TILE_COLS).i32_ge_s().br_if(1)
  c.get(dst)
  c.get(col).get(j).i32_add().get(nc).i32_lt_s()
  c.if_f32()
  address()
  c.f32_load()
  c.else_().f32_const(0).end()
  c.f32_store()
  c.get(dst).i32_const(4).i32_add().set(dst)
  c.get(j).i32_const(1).i32_add().set(j)
  c.br(0).end().end()
}

/**
 * packB(src, ldb, trans, kc, nc, dst): dst[(p * kc + k) * 8 + j] = op(B)[k, p * 8 + j] for
 * columns < nc (0 beyond), op(B)[k, j] = src[k * ldb + j] (trans = 0) or src[j * ldb + k].
 * A full panel of untransposed B is two vector loads per k.
 */
function packB(): FunctionSpec {
  const [src, ldb, trans, kc, nc, dst] = [0, 1, 2, 3, 4, 5]
  const [col, k, j, colStep, kStep, rowPtr] = [6, 7, 8, 9, 10, 11]
  const c = new Code()
  c.get(trans).if_().get(ldb).i32_const(2).i32_shl().set(colStep).i32_const(4).set(kStep)
  c.else_().i32_const(4).set(colStep).get(ldb).i32_const(2).i32_shl().set(kStep).end()
  c.i32_const(0).set(col)
  c.block().loop() // panels
  c.get(col).get(nc).i32_ge_s().br_if(1)
  c.i32_const(0).set(k)
  c.block().loop() // k
  c.get(k).get(kc).i32_ge_s().br_if(1)
  // rowPtr = address of op(B)[k, col]
  c.get(src).get(k).get(kStep).i32_mul().i32_add().get(col).get(colStep).i32_mul().i32_add().set(rowPtr)
  c.get(trans).i32_eqz().get(col).i32_const(TILE_COLS).i32_add().get(nc).i32_le_s().i32_and()
  c.if_()
  c.get(dst).get(rowPtr).v128_load({ align: 0 }).v128_store({ align: 0 })
  c.get(dst).get(rowPtr).v128_load({ offset: 16, align: 0 }).v128_store({ offset: 16, align: 0 })
  c.get(dst).i32_const(32).i32_add().set(dst)
  c.else_()
  edgePanel(c, j, col, nc, dst, () => c.get(rowPtr).get(j).get(colStep).i32_mul().i32_add())
  c.end()
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(col).i32_const(TILE_COLS).i32_add().set(col)
  c.br(0).end().end()
  return { name: "packB", params: [i32, i32, i32, i32, i32, i32], locals: [i32, i32, i32, i32, i32, i32], body: c }
}

/**
 * packBGather(base, rowOff, colOff, kc, nc, dst): packB's layout for the implicit matrix
 * B[k, j] = base[rowOff[k] + colOff[j]] (rowOff, colOff: byte addresses of int32 element
 * offsets). A convolution's column matrix is such a matrix over a zero-padded input: one
 * offset per tap and one per output position, so im2col never runs. A panel whose eight
 * column offsets are consecutive (eight neighbouring outputs of one row at stride 1) is
 * two vector loads per k.
 */
function packBGather(): FunctionSpec {
  const [base, rowOff, colOff, kc, nc, dst] = [0, 1, 2, 3, 4, 5]
  const [col, k, j, rowPtr, first, contiguous] = [6, 7, 8, 9, 10, 11]
  const o = Array.from({ length: TILE_COLS }, (_, q) => 12 + q)
  const c = new Code()
  c.i32_const(0).set(col)
  c.block().loop() // panels
  c.get(col).get(nc).i32_ge_s().br_if(1)
  // first = colOff[col]; contiguous when the panel is full and colOff[col + 7] = first + 7
  c.get(colOff).get(col).i32_const(2).i32_shl().i32_add().i32_load().set(first)
  c.get(col).i32_const(TILE_COLS).i32_add().get(nc).i32_le_s()
  c.if_()
  c.get(colOff).get(col).i32_const(2).i32_shl().i32_add().i32_load({ offset: 28 }).get(first).i32_sub().i32_const(7).i32_eq().set(contiguous)
  c.else_().i32_const(0).set(contiguous).end()
  c.get(col).i32_const(TILE_COLS).i32_add().get(nc).i32_le_s()
  c.if_()
  for (let q = 0; q < TILE_COLS; q++) c.get(colOff).get(col).i32_const(2).i32_shl().i32_add().i32_load({ offset: q * 4 }).i32_const(2).i32_shl().set(o[q])
  c.end()
  c.i32_const(0).set(k)
  c.block().loop() // k
  c.get(k).get(kc).i32_ge_s().br_if(1)
  // rowPtr = base + rowOff[k] * 4
  c.get(base).get(rowOff).get(k).i32_const(2).i32_shl().i32_add().i32_load().i32_const(2).i32_shl().i32_add().set(rowPtr)
  c.get(contiguous)
  c.if_()
  c.get(rowPtr).get(first).i32_const(2).i32_shl().i32_add().set(rowPtr)
  c.get(dst).get(rowPtr).v128_load({ align: 0 }).v128_store({ align: 0 })
  c.get(dst).get(rowPtr).v128_load({ offset: 16, align: 0 }).v128_store({ offset: 16, align: 0 })
  c.get(dst).i32_const(32).i32_add().set(dst)
  c.else_()
  c.get(col).i32_const(TILE_COLS).i32_add().get(nc).i32_le_s()
  c.if_() // a full panel: its eight column offsets were loaded once, outside the k loop
  for (let q = 0; q < TILE_COLS; q++) c.get(dst).get(rowPtr).get(o[q]).i32_add().f32_load().f32_store({ offset: q * 4 })
  c.get(dst).i32_const(32).i32_add().set(dst)
  c.else_()
  edgePanel(c, j, col, nc, dst, () => c.get(rowPtr).get(colOff).get(col).get(j).i32_add().i32_const(2).i32_shl().i32_add().i32_load().i32_const(2).i32_shl().i32_add())
  c.end()
  c.end()
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(col).i32_const(TILE_COLS).i32_add().set(col)
  c.br(0).end().end()
  return { name: "packBGather", params: [i32, i32, i32, i32, i32, i32], locals: Array(6 + TILE_COLS).fill(i32), body: c }
}

/**
 * macro(pa, pb, mc, nc, kc, c, ldc, alpha, beta, overwrite, tile): C[0:mc, 0:nc] (c a byte
 * address, ldc in elements) from the packed block pair, tile by tile: B's panels outside
 * (one stays in L1 while every A panel passes), A's inside. `tile` is 128 bytes of scratch
 * for the edge tiles, which are stored element by element.
 */
function macro(fused: boolean): FunctionSpec {
  const [pa, pb, mc, nc, kc, cPtr, ldc, alpha, beta, overwrite, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  let n = 11
  const jr = n++, ir = n++, aPtr = n++, bPtr = n++, k = n++, rowPtr = n++, mr = n++, nr = n++, i = n++, j = n++, addr = n++, ldcBytes = n++
  const v = n++
  const b0 = n++, b1 = n++, a = n++, alphaV = n++, betaV = n++
  const acc = Array.from({ length: TILE_ROWS * 2 }, () => n++)
  const c = new Code()
  c.get(ldc).i32_const(2).i32_shl().set(ldcBytes)
  c.get(alpha).f32x4_splat().set(alphaV)
  c.get(beta).f32x4_splat().set(betaV)
  c.i32_const(0).set(jr)
  c.block().loop() // B panels
  c.get(jr).get(nc).i32_ge_s().br_if(1)
  c.i32_const(0).set(ir)
  c.block().loop() // A panels
  c.get(ir).get(mc).i32_ge_s().br_if(1)
  // the panels' addresses: pa + ir * kc * 4 bytes, pb + jr * kc * 4 bytes
  c.get(pa).get(ir).get(kc).i32_mul().i32_const(2).i32_shl().i32_add().set(aPtr)
  c.get(pb).get(jr).get(kc).i32_mul().i32_const(2).i32_shl().i32_add().set(bPtr)
  for (const r of acc) c.v128_const0().set(r)
  c.get(kc).set(k)
  c.loop()
  c.get(bPtr).v128_load().set(b0)
  c.get(bPtr).v128_load({ offset: 16 }).set(b1)
  for (let r = 0; r < TILE_ROWS; r++) {
    c.get(aPtr).v128_load32_splat({ offset: r * 4 }).set(a)
    for (const [h, b] of [[0, b0], [1, b1]] as const) {
      const target = acc[r * 2 + h]
      if (fused) c.get(a).get(b).get(target).f32x4_relaxed_madd().set(target)
      else c.get(target).get(a).get(b).f32x4_mul().f32x4_add().set(target)
    }
  }
  c.get(aPtr).i32_const(16).i32_add().set(aPtr)
  c.get(bPtr).i32_const(32).i32_add().set(bPtr)
  c.get(k).i32_const(1).i32_sub().tee(k).br_if(0)
  c.end()
  // the tile's C address
  c.get(cPtr).get(ir).get(ldcBytes).i32_mul().i32_add().get(jr).i32_const(2).i32_shl().i32_add().set(rowPtr)
  c.get(mc).get(ir).i32_sub().set(mr)
  c.get(nc).get(jr).i32_sub().set(nr)
  // all eight columns present: vector stores, row by row while rows remain (LeNet's first
  // convolution has six output channels: every second tile has two rows)
  c.get(nr).i32_const(TILE_COLS).i32_ge_s()
  c.if_()
  c.block()
  for (let r = 0; r < TILE_ROWS; r++) {
    if (r > 0) c.get(mr).i32_const(r).i32_le_s().br_if(0)
    for (let h = 0; h < 2; h++) {
      const off = { offset: h * 16, align: 2 }
      c.get(alphaV).get(acc[r * 2 + h]).f32x4_mul().set(a)
      c.get(overwrite).i32_eqz().if_()
      c.get(betaV).get(rowPtr).v128_load(off).f32x4_mul().get(a).f32x4_add().set(a)
      c.end()
      c.get(rowPtr).get(a).v128_store(off)
    }
    c.get(rowPtr).get(ldcBytes).i32_add().set(rowPtr)
  }
  c.end()
  c.else_() // an edge tile: through the scratch tile, element by element
  for (let r = 0; r < TILE_ROWS; r++) for (let h = 0; h < 2; h++) c.get(tile).get(acc[r * 2 + h]).v128_store({ offset: (r * 2 + h) * 16, align: 2 })
  c.i32_const(0).set(i)
  c.block().loop()
  c.get(i).get(mr).i32_ge_s().get(i).i32_const(TILE_ROWS).i32_ge_s().i32_or().br_if(1)
  c.i32_const(0).set(j)
  c.block().loop()
  c.get(j).get(nr).i32_ge_s().get(j).i32_const(TILE_COLS).i32_ge_s().i32_or().br_if(1)
  c.get(rowPtr).get(j).i32_const(2).i32_shl().i32_add().set(addr)
  c.get(alpha).get(tile).get(i).i32_const(5).i32_shl().i32_add().get(j).i32_const(2).i32_shl().i32_add().f32_load().f32_mul().set(v)
  c.get(overwrite).i32_eqz().if_()
  c.get(beta).get(addr).f32_load().f32_mul().get(v).f32_add().set(v)
  c.end()
  c.get(addr).get(v).f32_store()
  c.get(j).i32_const(1).i32_add().set(j)
  c.br(0).end().end()
  c.get(rowPtr).get(ldcBytes).i32_add().set(rowPtr)
  c.get(i).i32_const(1).i32_add().set(i)
  c.br(0).end().end()
  c.end()
  c.get(ir).i32_const(TILE_ROWS).i32_add().set(ir)
  c.br(0).end().end()
  c.get(jr).i32_const(TILE_COLS).i32_add().set(jr)
  c.br(0).end().end()
  const locals = [...Array(12).fill(i32), f32, ...Array(5 + acc.length).fill(v128)]
  return { name: fused ? "macroRelaxed" : "macro", params: [i32, i32, i32, i32, i32, i32, i32, f32, f32, i32, i32], locals, body: c }
}

/** The GEMM functions, in module order. */
export function gemmFunctions(relaxed: boolean): FunctionSpec[] {
  const common = [packA(), packB(), packBGather(), macro(false)]
  return relaxed ? [...common, macro(true)] : common
}
