/**
 * TensorFlow.js 4.22 on its WebAssembly backend (@tensorflow/tfjs-backend-wasm, XNNPACK
 * kernels, SIMD build), the same cases as tfjs-cpu (./tfjs.ts). Its .wasm files ship in the
 * npm package and load from node_modules. One thread: the threaded build needs
 * WASM_HAS_MULTITHREAD_SUPPORT, which TF.js does not detect under Node (and setting the flag
 * does not help: Emscripten starts its pthread workers from blob: URLs, which Node's Worker
 * rejects), so other thread counts are skipped with that reason. Workloads whose backward pass needs a kernel the
 * backend lacks (Conv2DBackpropFilter: W1, W3) are skipped by createTfjsCase.
 */
import type * as TF from "@tensorflow/tfjs"
// static: loading this adapter is what needs the package (run.ts notes it when absent)
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm"
import { createTfjsCase, loadTfjs, tfjsLayoutNote } from "./tfjs.ts"
import type { SystemAdapter } from "../lib/workloads.ts"

/** Registers the wasm backend with one thread (it must be set before the backend initializes). */
async function prepare(): Promise<void> {
  setThreadsCount(1)
}

const load = () => loadTfjs("wasm", prepare)

/**
 * TF.js 4.22's wasm MaxPoolGrad sends the gradient of a window whose values are all
 * negative to the window's first element, not to its maximum (found by --check on W2).
 * Probed, not assumed, so a fixed version loses the caveat: one 2x2 window [-4, -3, -2, -1]
 * must route its gradient to the -1.
 */
function maxPoolGradBug(tf: typeof TF): string | undefined {
  const dx = tf.tidy(() => tf.grad((a: TF.Tensor) => tf.maxPool(a as TF.Tensor4D, 2, 2, "valid"))(tf.tensor4d([-4, -3, -2, -1], [1, 2, 2, 1])).dataSync())
  if (dx[3] === 1 && dx[0] === 0) return undefined
  return `its MaxPoolGrad kernel routes the gradient of an all-negative window to its first element, not its maximum (a 2x2 window [-4, -3, -2, -1] gives dx [${Array.from(dx).join(", ")}]): its W2 dx is wrong, its time is shown anyway`
}

export const tfjsWasmAdapter: SystemAdapter = {
  name: "tfjs-wasm",
  version: "@tensorflow/tfjs 4.22.0 + @tensorflow/tfjs-backend-wasm 4.22.0, backend wasm",
  notes: [tfjsLayoutNote("tfjs-wasm")],
  threading: "native",
  async threadsUnavailable(threads) {
    const mt = await (await load()).env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT")
    return mt
      ? `not measured (the backend's thread count is fixed when it initializes; this run uses 1)`
      : `TF.js's threaded WASM build is unavailable here (WASM_HAS_MULTITHREAD_SUPPORT is false under Node; forcing it fails: its pthread workers start from a blob: URL, which Node's Worker rejects with ERR_WORKER_PATH)`
  },
  async createCase(workload, threads) {
    if (threads !== 1) return { skip: `threads ${threads}: see threadsUnavailable` }
    const tf = await load()
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")
    const c = createTfjsCase(tf, "tfjs-wasm", workload)
    if ("skip" in c) return c
    const bug = workload === "W2" ? maxPoolGradBug(tf) : undefined
    return {
      ...c,
      ...(simd ? {} : { note: "SIMD unavailable, the scalar build ran" }),
      ...(bug === undefined ? {} : { note: bug, knownMismatch: bug }),
    }
  },
}
