// Runs ONNX bytes in onnxruntime-node (the real runtime, CPU build) for the export tests.
import * as ort from "onnxruntime-node"
import { expect } from "vitest"
import type { Tensor } from "../../src/index.ts"

/** Runs `bytes` in ONNX Runtime on float32 feeds; returns every output by name. */
export async function runOrt(bytes: Uint8Array, feeds: { readonly [name: string]: Tensor }): Promise<Record<string, { dims: readonly number[]; data: ArrayLike<number> }>> {
  // severity 3: errors only (the ceil_mode shape-inference notice is documented in docs/interop.md)
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 })
  try {
    const inputs: Record<string, ort.Tensor> = {}
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor("float32", Float32Array.from(t.data), [...t.shape])
    const out = await session.run(inputs)
    const result: Record<string, { dims: readonly number[]; data: ArrayLike<number> }> = {}
    for (const [name, t] of Object.entries(out)) result[name] = { dims: t.dims, data: t.data as ArrayLike<number> }
    return result
  } finally {
    await session.release()
  }
}

/** Max |a - b| <= tol * max(1, max |b|): the float32 agreement the export promises. */
export function expectCloseRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = ""): number {
  expect(actual.length, what).toBe(expected.length)
  let scale = 1
  let diff = 0
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]))
    const d = Math.abs(Number(actual[i]) - expected[i])
    diff = Number.isNaN(d) ? (Number.isNaN(Number(actual[i])) && Number.isNaN(expected[i]) ? diff : Infinity) : Math.max(diff, d)
  }
  expect(diff, `${what} max abs diff ${diff} (scale ${scale})`).toBeLessThanOrEqual(tol * scale)
  return diff / scale
}
