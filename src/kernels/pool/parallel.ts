/**
 * The two pooling loops that dominate a CNN step (the 2x2 max-pool forward and the argmax
 * scatter of its backward), split by (n, c) planes across the parallel backend when there
 * is one and every buffer is shared. Planes are independent, so each output element is
 * written by exactly one part: the same bits with any number of threads.
 */
import type { DataArray, FloatArray } from "../../tensor/dtype.ts"
import { parallelBackend, parallelTasks, runTask, splitRange, threadCount } from "../../exec/parallel.ts"
import { scatterAddPlanes } from "./windows.ts"
import { maxPool2x2 } from "./pool2d.ts"

const MAX_2X2 = "pool.max2x2"
const SCATTER = "pool.scatterAdd"
/** Below this many input elements, posting work to another thread costs more than it saves. */
const MIN_ELEMENTS = 1 << 18

function floats(a: DataArray): FloatArray {
  if (a instanceof Float32Array || a instanceof Float64Array) return a
  throw new Error("pool task: expected a float array")
}

function int32(a: DataArray): Int32Array {
  if (a instanceof Int32Array) return a
  throw new Error("pool task: expected an int32 array")
}

// arrays: x, y[, indices]; numbers: p0, p1, H, W, OH, OW
parallelTasks.set(MAX_2X2, ({ arrays, numbers }) => {
  const [p0, p1, H, W, OH, OW] = numbers
  const inPlane = H * W
  const outPlane = OH * OW
  const indices = arrays.length > 2 ? int32(arrays[2]).subarray(p0 * outPlane, p1 * outPlane) : undefined
  maxPool2x2(floats(arrays[0]).subarray(p0 * inPlane, p1 * inPlane), floats(arrays[1]).subarray(p0 * outPlane, p1 * outPlane), indices, p1 - p0, H, W, OH, OW)
})

// arrays: gy, indices, gx[, mask]; numbers: p0, p1, outPlane, inPlane, clear (0/1)
parallelTasks.set(SCATTER, ({ arrays, numbers }) => {
  const [p0, p1, outPlane, inPlane, clear] = numbers
  const gy = floats(arrays[0]).subarray(p0 * outPlane, p1 * outPlane)
  const indices = int32(arrays[1]).subarray(p0 * outPlane, p1 * outPlane)
  const mask = arrays.length > 3 ? floats(arrays[3]).subarray(p0 * inPlane, p1 * inPlane) : undefined
  scatterAddPlanes(gy, indices, floats(arrays[2]).subarray(p0 * inPlane, p1 * inPlane), p1 - p0, outPlane, inPlane, clear === 1, mask)
})

function planeParts(planes: number, elements: number): [number, number][] | undefined {
  const threads = threadCount()
  if (parallelBackend() === undefined || threads < 2 || planes < 2 || elements < MIN_ELEMENTS) return undefined
  return splitRange(planes, threads)
}

/** {@link maxPool2x2}, split by planes when a parallel backend can take it. */
export function maxPool2x2Planes(x: FloatArray, y: FloatArray, indices: Int32Array | undefined, planes: number, H: number, W: number, OH: number, OW: number): void {
  const parts = planeParts(planes, x.length)
  if (parts === undefined) {
    maxPool2x2(x, y, indices, planes, H, W, OH, OW)
    return
  }
  const arrays = indices === undefined ? [x, y] : [x, y, indices]
  runTask(
    MAX_2X2,
    parts.map(([p0, p1]) => ({ arrays, numbers: [p0, p1, H, W, OH, OW] })),
  )
}

/** {@link scatterAddPlanes} (with its `clear` and `mask`), split by planes when a parallel backend can take it. */
export function scatterAddPlanesSplit(gy: FloatArray, indices: Int32Array, gx: FloatArray, planes: number, outPlane: number, inPlane: number, clear = false, mask?: FloatArray): void {
  const parts = planeParts(planes, gx.length)
  if (parts === undefined) {
    scatterAddPlanes(gy, indices, gx, planes, outPlane, inPlane, clear, mask)
    return
  }
  const arrays = mask === undefined ? [gy, indices, gx] : [gy, indices, gx, mask]
  runTask(
    SCATTER,
    parts.map(([p0, p1]) => ({ arrays, numbers: [p0, p1, outPlane, inPlane, clear ? 1 : 0] })),
  )
}
