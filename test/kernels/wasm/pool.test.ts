// The WASM max-pool kernels against the JS ones, bit for bit: the 2x2 / stride-2 forward
// (values and argmax indices) and the argmax scatter of the backward, on random shapes
// whose values are drawn to make ties, NaN, infinities and signed zeros common.
import fc from "fast-check"
import { afterEach, describe, expect, it } from "vitest"
import { setKernelBackend, useWasmKernels, type KernelBackendName } from "../../../src/kernels/backend.ts"
import { maxPool2x2 } from "../../../src/kernels/pool/pool2d.ts"
import { scatterAddPlanes } from "../../../src/kernels/pool/windows.ts"
import { arenaAlloc, createArena } from "../../../src/kernels/wasm/module.ts"
import { KernelError } from "../../../src/errors.ts"
import { maxPool2d, relu } from "../../../src/index.ts"
import { grads, run, t64 } from "../../ops/pool/helpers.ts"

afterEach(() => setKernelBackend(undefined))

/** The bits of a float32 array, so -0 differs from +0 and NaN equals NaN (its payload too). */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))

/**
 * The bits of a float32 array with every NaN as one value: the sign of a NaN made by
 * arithmetic (inf - inf, then NaN + NaN) is not specified by JavaScript or WebAssembly and
 * follows the compiler's operand order (x86 keeps the first operand's), so sums are
 * compared bit for bit except for which NaN they hold.
 */
const sumBits = (a: Float32Array): number[] => bits(a).map((b, i) => (Number.isNaN(a[i]) ? -1 : b))

function on<T>(backend: KernelBackendName, f: () => T): T {
  setKernelBackend(backend)
  try {
    return f()
  } finally {
    setKernelBackend(undefined)
  }
}

/** Mostly a few repeated values (ties), with NaN, infinities and both zeros. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, -0, 1, -1, 2) },
  { weight: 2, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) },
  { weight: 3, arbitrary: fc.float({ noNaN: true }) },
)

const pool2x2Case = fc
  .record({ planes: fc.integer({ min: 1, max: 4 }), H: fc.integer({ min: 2, max: 11 }), W: fc.integer({ min: 2, max: 23 }) })
  .chain(({ planes, H, W }) =>
    fc.record({
      planes: fc.constant(planes),
      H: fc.constant(H),
      W: fc.constant(W),
      // the kernel's contract is 2 * OH <= H and 2 * OW <= W (floor mode gives the largest)
      OH: fc.integer({ min: 1, max: Math.floor(H / 2) }),
      OW: fc.integer({ min: 1, max: Math.floor(W / 2) }),
      x: fc.array(value, { minLength: planes * H * W, maxLength: planes * H * W }),
    }),
  )

function forward(backend: KernelBackendName, x: Float32Array, planes: number, H: number, W: number, OH: number, OW: number, withIndices: boolean) {
  const y = new Float32Array(planes * OH * OW).fill(7)
  const indices = withIndices ? new Int32Array(y.length).fill(-7) : undefined
  on(backend, () => maxPool2x2(x, y, indices, planes, H, W, OH, OW))
  return { y: bits(y), indices: indices && Array.from(indices) }
}

describe("WASM max pool 2x2 / stride 2", () => {
  it("runs on WASM here (the module validates)", () => {
    expect(on("wasm", useWasmKernels)).toBe(true)
  })

  it("follows PyTorch's rules on a hand-worked plane: first of tied maxima, last NaN, -0 kept", () => {
    // windows (a, b / c, d): [1, 1 / 1, 0] -> first 1 (index 0); [NaN, 2 / 3, NaN] -> the
    // last NaN (index 7); [-0, 0 / -0, 0] -> the first, -0 (index 4); [-inf, -inf / -inf,
    // -inf] -> index 6
    const x = new Float32Array([1, 1, NaN, 2, -0, 0, -Infinity, -Infinity, 1, 0, 3, NaN, -0, 0, -Infinity, -Infinity])
    const y = new Float32Array(4)
    const indices = new Int32Array(4)
    on("wasm", () => maxPool2x2(x, y, indices, 1, 2, 8, 1, 4))
    expect(Array.from(indices)).toEqual([0, 3 + 8, 4, 6])
    expect(Object.is(y[0], 1) && Number.isNaN(y[1]) && Object.is(y[2], -0) && y[3] === -Infinity).toBe(true)
  })

  it("gives the JS kernel's values and indices, bit for bit, on random planes with ties, NaN and infinities", () => {
    fc.assert(
      fc.property(pool2x2Case, fc.boolean(), ({ planes, H, W, OH, OW, x }, withIndices) => {
        const xs = Float32Array.from(x)
        expect(forward("wasm", xs, planes, H, W, OH, OW, withIndices)).toEqual(forward("js", xs, planes, H, W, OH, OW, withIndices))
      }),
      { numRuns: 300 },
    )
  })

  it("gives the same bits in place in an arena and over many plane groups (LeNet-sized and larger inputs)", () => {
    for (const [planes, H, W] of [
      [64 * 6, 28, 28],
      [64 * 16, 10, 10],
      [40, 57, 81],
    ]) {
      const n = planes * H * W
      const x = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 13) - 6 + (i % 97 === 0 ? NaN : 0))
      const [OH, OW] = [Math.floor(H / 2), Math.floor(W / 2)]
      const want = forward("js", x, planes, H, W, OH, OW, true)
      expect(forward("wasm", x, planes, H, W, OH, OW, true)).toEqual(want)
      const arena = createArena(4 * (n + 2 * planes * OH * OW) + 64)!
      const ax = arenaAlloc(arena, n)!
      ax.set(x)
      const ay = arenaAlloc(arena, planes * OH * OW)!
      const ai = new Int32Array(arena.memory.buffer, arenaAlloc(arena, planes * OH * OW)!.byteOffset, planes * OH * OW)
      on("wasm", () => maxPool2x2(ax, ay, ai, planes, H, W, OH, OW))
      expect({ y: bits(ay), indices: Array.from(ai) }).toEqual(want)
    }
  })
})

const scatterCase = fc
  .record({ planes: fc.integer({ min: 1, max: 4 }), inPlane: fc.integer({ min: 1, max: 40 }), outPlane: fc.integer({ min: 0, max: 40 }) })
  .chain(({ planes, inPlane, outPlane }) =>
    fc.record({
      planes: fc.constant(planes),
      inPlane: fc.constant(inPlane),
      outPlane: fc.constant(outPlane),
      // repeated indices (overlapping windows) add up in order; -1 is "no element"
      indices: fc.array(fc.integer({ min: -1, max: inPlane - 1 }), { minLength: planes * outPlane, maxLength: planes * outPlane }),
      gy: fc.array(value, { minLength: planes * outPlane, maxLength: planes * outPlane }),
      gx: fc.array(value, { minLength: planes * inPlane, maxLength: planes * inPlane }),
      mask: fc.option(fc.array(value, { minLength: planes * inPlane, maxLength: planes * inPlane })),
      clear: fc.boolean(),
    }),
  )

describe("WASM max pool backward (argmax scatter-add)", () => {
  it("gives the JS kernel's bits with repeated indices, -1 entries, a relu mask, clearing or accumulating", () => {
    fc.assert(
      fc.property(scatterCase, ({ planes, inPlane, outPlane, indices, gy, gx, mask, clear }) => {
        const result = (backend: KernelBackendName): number[] => {
          const out = Float32Array.from(gx)
          const m = mask === null ? undefined : Float32Array.from(mask)
          on(backend, () => scatterAddPlanes(Float32Array.from(gy), Int32Array.from(indices), out, planes, outPlane, inPlane, clear, m))
          return sumBits(out)
        }
        expect(result("wasm")).toEqual(result("js"))
      }),
      { numRuns: 300 },
    )
  })

  it("adds repeated indices in output order (float32 rounding shows the order)", () => {
    // 1e8 + 1 - 1e8 is 0 in float32 left to right; any other order gives 1 or -1e8 + ...
    const gy = new Float32Array([1e8, 1, -1e8])
    const gx = new Float32Array(2)
    on("wasm", () => scatterAddPlanes(gy, new Int32Array([1, 1, 1]), gx, 1, 3, 2, true))
    expect(Array.from(gx)).toEqual([0, 0])
  })

  it("reports an index outside the plane with the JS kernel's KernelError", () => {
    const message = (backend: KernelBackendName): string => {
      try {
        on(backend, () => scatterAddPlanes(new Float32Array(4), new Int32Array([0, 1, 5, 0]), new Float32Array(8), 2, 2, 4, true))
      } catch (e) {
        expect(e).toBeInstanceOf(KernelError)
        return (e as Error).message
      }
      return "no error"
    }
    expect(message("wasm")).toBe(message("js"))
    expect(message("wasm")).toMatch(/indices\[2\] = 5/)
  })
})

describe("max_pool2d ops on the WASM kernels", () => {
  it("relu -> max_pool2d 2x2: forward and gradient bit-identical to the JS kernels in float32", () => {
    const [N, C, H, W] = [3, 5, 13, 18]
    const x = t64(
      Array.from({ length: N * C * H * W }, (_, i) => ((i * 37) % 11) - 5),
      [N, C, H, W],
    )
    const u = t64(
      Array.from({ length: N * C * 6 * 9 }, (_, i) => Math.sin(i)),
      [N, C, 6, 9],
    )
    const build = (v: { readonly [k: string]: import("../../../src/index.ts").Value }) => maxPool2d(relu(v.x), { kernel_size: 2 })
    const both = (backend: KernelBackendName) =>
      on(backend, () => [run(build, { x }, "float32")[0], grads(build, { x }, u, ["x"], "float32")[0]].map((t) => sumBits(t.data as Float32Array)))
    expect(both("wasm")).toEqual(both("js"))
  })
})
