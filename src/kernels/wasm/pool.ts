/**
 * float32 max pooling on the WASM kernels (./pool-module.ts): the 2x2 / stride-2 forward
 * and the argmax scatter of the backward. Same contracts and the same bits as
 * ../pool/pool2d.ts's maxPool2x2 and ../pool/windows.ts's scatterAddPlanes; arrays in an
 * arena are used in place, others are staged (./module.ts's runInArena).
 *
 * Both loops are memory-bound, so they go in groups of planes of about
 * {@link STAGE_ELEMENTS} input elements: a staged group stays in cache between its copy in,
 * the kernel and its copy out, instead of every array crossing main memory twice more.
 * Planes are independent, so grouping changes no result.
 */
import { runInArena } from "./module.ts"

/** Input elements per group of planes (512 KiB of float32: the group's staged arrays fit a core's 1 MiB L2 here). */
const STAGE_ELEMENTS = 1 << 17

/** Calls `run(p0, p1)` over consecutive groups of planes; false as soon as one is. */
function byPlaneGroups(planes: number, inPlane: number, run: (p0: number, p1: number) => boolean): boolean {
  const step = Math.max(1, Math.floor(STAGE_ELEMENTS / Math.max(1, inPlane)))
  for (let p0 = 0; p0 < planes; p0 += step) if (!run(p0, Math.min(planes, p0 + step))) return false
  return true
}

/**
 * maxPool2x2 on the WASM kernels: y (and the int32 argmax `indices`) of `planes` H x W
 * planes of x. False when no arena can hold the arrays (the caller runs the JS kernel).
 */
export function maxPool2x2Wasm(x: Float32Array, y: Float32Array, indices: Int32Array | undefined, planes: number, H: number, W: number, OH: number, OW: number): boolean {
  const inPlane = H * W
  const outPlane = OH * OW
  return byPlaneGroups(planes, inPlane, (p0, p1) => {
    const xs = x.subarray(p0 * inPlane, p1 * inPlane)
    const ys = y.subarray(p0 * outPlane, p1 * outPlane)
    if (indices === undefined) {
      return runInArena([xs], [ys], 0, (arena, [xa, ya]) => arena.kernels.maxPool2x2(xa, ya, p1 - p0, H, W, OH, OW), true)
    }
    const is = indices.subarray(p0 * outPlane, p1 * outPlane)
    return runInArena([xs], [ys, is], 0, (arena, [xa, ya, ia]) => arena.kernels.maxPool2x2Indices(xa, ya, ia, p1 - p0, H, W, OH, OW), true)
  })
}

/**
 * scatterAddPlanes on the WASM kernels. Returns "done", "no arena" (the caller runs the JS
 * kernel), or "bad index" when an index lies outside [-1, inPlane): the caller runs the JS
 * kernel then too, which throws its error for the same entry (gx is left undefined).
 */
export function scatterAddPlanesWasm(gy: Float32Array, indices: Int32Array, gx: Float32Array, planes: number, outPlane: number, inPlane: number, clear: boolean, mask: Float32Array | undefined): "done" | "no arena" | "bad index" {
  let bad = false
  const ran = byPlaneGroups(planes, inPlane, (p0, p1) => {
    const inputs = [gy.subarray(p0 * outPlane, p1 * outPlane), indices.subarray(p0 * outPlane, p1 * outPlane)]
    if (mask !== undefined) inputs.push(mask.subarray(p0 * inPlane, p1 * inPlane))
    const gxs = gx.subarray(p0 * inPlane, p1 * inPlane)
    return runInArena(
      inputs,
      [gxs],
      0,
      (arena, addr) => {
        const ma = mask === undefined ? 0 : addr[2]
        bad = arena.kernels.scatterAddPlanes(addr[0], addr[1], addr[addr.length - 1], p1 - p0, outPlane, inPlane, clear ? 1 : 0, ma) !== -1
      },
      clear,
    ) && !bad
  })
  if (bad) return "bad index"
  return ran ? "done" : "no arena"
}
