/**
 * The reduction of the WASM kernel module: sums of contiguous runs, the shape of a bias
 * gradient (a sum of NCHW over N, H and W) and of full sums.
 */
import { Code, f32, i32, v128, type FunctionSpec } from "./emit.ts"

/**
 * sumRuns(x, outer, kept, inner, out): out[k] += sum over o < outer, i < inner of
 * x[(o * kept + k) * inner + i] (byte addresses). Each run of `inner` elements is summed in
 * float32 with two four-lane accumulators (eight interleaved partial sums: independent adds
 * run at load speed), lanes added in a fixed order, then added to out[k]: fixed bits.
 */
function sumRuns(): FunctionSpec {
  const [x, outer, kept, inner, out] = [0, 1, 2, 3, 4]
  const o = 5, k = 6, i = 7, outPtr = 8
  const a0 = 9, a1 = 10
  const s = 11
  const c = new Code()
  c.i32_const(0).set(o)
  c.block().loop()
  c.get(o).get(outer).i32_ge_s().br_if(1)
  c.i32_const(0).set(k)
  c.get(out).set(outPtr)
  c.block().loop()
  c.get(k).get(kept).i32_ge_s().br_if(1)
  c.v128_const0().set(a0)
  c.v128_const0().set(a1)
  c.i32_const(0).set(i)
  c.block().loop() // eight at a time
  c.get(i).i32_const(8).i32_add().get(inner).i32_gt_s().br_if(1)
  c.get(a0).get(x).v128_load({ align: 2 }).f32x4_add().set(a0)
  c.get(a1).get(x).v128_load({ offset: 16, align: 2 }).f32x4_add().set(a1)
  c.get(x).i32_const(32).i32_add().set(x)
  c.get(i).i32_const(8).i32_add().set(i)
  c.br(0).end().end()
  // the lanes, in a fixed order: (a0 + a1) lane 0 + 1, then 2 + 3
  c.get(a0).get(a1).f32x4_add().set(a0)
  c.get(a0).f32x4_extract_lane(0).get(a0).f32x4_extract_lane(1).f32_add()
  c.get(a0).f32x4_extract_lane(2).get(a0).f32x4_extract_lane(3).f32_add().f32_add().set(s)
  c.block().loop() // the rest
  c.get(i).get(inner).i32_ge_s().br_if(1)
  c.get(s).get(x).f32_load().f32_add().set(s)
  c.get(x).i32_const(4).i32_add().set(x)
  c.get(i).i32_const(1).i32_add().set(i)
  c.br(0).end().end()
  c.get(outPtr).get(outPtr).f32_load().get(s).f32_add().f32_store()
  c.get(outPtr).i32_const(4).i32_add().set(outPtr)
  c.get(k).i32_const(1).i32_add().set(k)
  c.br(0).end().end()
  c.get(o).i32_const(1).i32_add().set(o)
  c.br(0).end().end()
  return { name: "sumRuns", params: Array(5).fill(i32), locals: [i32, i32, i32, i32, v128, v128, f32], body: c }
}

/** The reduction functions, in module order. */
export function reduceFunctions(): FunctionSpec[] {
  return [sumRuns()]
}
