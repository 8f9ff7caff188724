/**
 * TensorFlow.js 4.22 cases, shared by two systems: `tfjs-cpu`, its pure-JS `cpu` backend
 * (the full @tensorflow/tfjs package: tfjs-core + backend-cpu alone registers no gradients
 * under Node, so tf.grad fails), and `tfjs-wasm` (./tfjs-wasm.ts), its WebAssembly backend.
 *
 * TF.js computes in NHWC (its max_pool has no NCHW form), so every tensor is handed to
 * it already transposed to NHWC / HWIO, once, before timing: the numbers are the same as
 * the other systems'. Both backends run each kernel synchronously when the op is
 * called, so a step's work is done when the op returns; W1 also reads the loss
 * (dataSync), W4 reads the logits, as a user would.
 */
import type * as TF from "@tensorflow/tfjs"
import { gemmData, hwioToOihw, nhwcToNchw, lenetBatch, lenetParams, linearForHwcInput, nchwToNhwc, oihwToHwio, transpose2d, w2Data, w3Data, type BenchTensor } from "../lib/data.ts"
import type { BenchCase, CaseResult, SystemAdapter, WorkloadId } from "../lib/workloads.ts"

type Tf = typeof TF

/** A TF.js backend these adapters run on, and the system name it is benchmarked as. */
export type TfjsBackend = "cpu" | "wasm"
type TfjsSystem = "tfjs-cpu" | "tfjs-wasm"

let loaded: Tf | undefined

/**
 * Loads TF.js once (PROD mode: no per-op debug checks or banner) and selects `backend`;
 * `prepare` runs once before a backend is first selected (the WASM backend's thread count
 * must be set before it initializes). Selected again on every call: `--check` runs the cpu
 * and wasm systems in one process, one after the other.
 */
export async function loadTfjs(backend: TfjsBackend = "cpu", prepare?: () => Promise<void>): Promise<Tf> {
  const tf = loaded ?? (await import("@tensorflow/tfjs"))
  if (loaded === undefined) tf.env().set("PROD", true)
  loaded = tf
  if (tf.findBackend(backend) === null && prepare !== undefined) await prepare()
  const ok = await tf.setBackend(backend)
  if (!ok || tf.getBackend() !== backend) throw new Error(`tf.setBackend('${backend}') failed (backend is ${tf.getBackend()})`)
  await tf.ready()
  return tf
}

/**
 * The gradient kernels a workload's backward pass needs (TF.js defines gradients once, in
 * tfjs-core, and they call these kernels, which each backend may or may not register).
 */
const GRADIENT_KERNELS: { readonly [K in WorkloadId]?: readonly string[] } = {
  W1: ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"],
  W2: ["MaxPoolGrad"],
  W3: ["Conv2DBackpropFilter", "Conv2DBackpropInput"],
}

const nhwcShape = (s: readonly number[]): [number, number, number, number] => [s[0], s[2], s[3], s[1]]

interface LenetVars {
  readonly list: TF.Variable[]
  forward(x: TF.Tensor4D): TF.Tensor2D
}

/** LeNet-5 as TF.js variables in NHWC / HWIO / [in, out] layouts, from the shared weights. */
function lenetVars(tf: Tf): LenetVars {
  const p = lenetParams()
  const get = (n: string): BenchTensor => p.get(n)!
  const conv = (n: string) => {
    const w = get(n)
    const [o, i, kh, kw] = w.shape
    return tf.variable(tf.tensor4d(oihwToHwio(w), [kh, kw, i, o]), true, n)
  }
  const dense = (n: string, data: Float32Array, outF: number, inF: number) =>
    tf.variable(tf.tensor2d(transpose2d(data, outF, inF), [inF, outF]), true, n)
  const bias = (n: string) => tf.variable(tf.tensor1d(get(n).data), true, n)
  const c1 = conv("conv1.weight")
  const c1b = bias("conv1.bias")
  const c2 = conv("conv2.weight")
  const c2b = bias("conv2.bias")
  // NHWC flatten is HWC-ordered: permute fc1's input columns to match dagrad's CHW flatten.
  const f1 = dense("fc1.weight", linearForHwcInput(get("fc1.weight"), 16, 5, 5), 120, 400)
  const f1b = bias("fc1.bias")
  const f2 = dense("fc2.weight", get("fc2.weight").data, 84, 120)
  const f2b = bias("fc2.bias")
  const f3 = dense("fc3.weight", get("fc3.weight").data, 10, 84)
  const f3b = bias("fc3.bias")
  return {
    list: [c1, c1b, c2, c2b, f1, f1b, f2, f2b, f3, f3b],
    forward(x) {
      const h1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, c1 as TF.Tensor4D, 1, 2), c1b)) as TF.Tensor4D, 2, 2, "valid")
      const h2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(h1, c2 as TF.Tensor4D, 1, "valid"), c2b)) as TF.Tensor4D, 2, 2, "valid")
      const flat = tf.reshape(h2, [x.shape[0], 400]) as TF.Tensor2D
      const h3 = tf.relu(tf.add(tf.matMul(flat, f1 as TF.Tensor2D), f1b)) as TF.Tensor2D
      const h4 = tf.relu(tf.add(tf.matMul(h3, f2 as TF.Tensor2D), f2b)) as TF.Tensor2D
      return tf.add(tf.matMul(h4, f3 as TF.Tensor2D), f3b) as TF.Tensor2D
    },
  }
}

function disposeAll(tf: Tf, ts: readonly TF.Tensor[]): void {
  tf.dispose([...ts])
}

/**
 * The case of `workload` on TF.js's current backend (loaded by {@link loadTfjs}), or a
 * skip when the backend lacks a kernel the workload's gradients need.
 */
export function createTfjsCase(tf: Tf, system: TfjsSystem, workload: WorkloadId): CaseResult {
  const backend = tf.getBackend()
  const missing = (GRADIENT_KERNELS[workload] ?? []).filter((k) => tf.getKernel(k, backend) === undefined)
  if (missing.length > 0) {
    const kernels = missing.map((k) => `'${k}'`).join(", ")
    return { skip: `cannot train/differentiate: TF.js's ${backend} backend has no ${kernels} kernel (needed by the ${workload} backward pass)`, expected: true }
  }
  const base = { system, workload, threads: 1 }
  switch (workload) {
    case "W1": {
      const vars = lenetVars(tf)
      const { x, labels } = lenetBatch(64)
      const xt = tf.tensor4d(nchwToNhwc(x), nhwcShape(x.shape))
      const target = tf.oneHot(tf.tensor1d(labels.data, "int32"), 10)
      const optimizer = tf.train.sgd(0.01)
      return {
        ...base,
        step() {
          // mean softmax cross-entropy (SUM_BY_NONZERO_WEIGHTS = mean over the batch)
          const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(target, vars.forward(xt)) as TF.Scalar, true, vars.list)!
          const value = loss.dataSync()[0]
          loss.dispose()
          return value
        },
        dispose() {
          optimizer.dispose()
          disposeAll(tf, [xt, target, ...vars.list])
        },
      } satisfies BenchCase
    }
    case "W4": {
      const vars = lenetVars(tf)
      const { x } = lenetBatch(256)
      const xt = tf.tensor4d(nchwToNhwc(x), nhwcShape(x.shape))
      return {
        ...base,
        step() {
          const logits = tf.tidy(() => vars.forward(xt))
          logits.dataSync()
          logits.dispose()
        },
        outputs() {
          const logits = tf.tidy(() => vars.forward(xt))
          const out = { y: Float32Array.from(logits.dataSync()) }
          logits.dispose()
          return out
        },
        dispose: () => disposeAll(tf, [xt, ...vars.list]),
      } satisfies BenchCase
    }
    case "W2": {
      const d = w2Data()
      const xt = tf.tensor4d(nchwToNhwc(d.x), nhwcShape(d.x.shape))
      const gy = tf.tensor4d(nchwToNhwc(d.gy), nhwcShape(d.gy.shape))
      const f = tf.valueAndGrads((a: TF.Tensor) => tf.maxPool(a as TF.Tensor4D, 2, 2, "valid"))
      return {
        ...base,
        step() {
          const { value, grads } = f([xt], gy)
          disposeAll(tf, [value, ...grads])
        },
        outputs() {
          const { value, grads } = f([xt], gy)
          const out = { y: nhwcToNchw(value.dataSync(), d.gy.shape), dx: nhwcToNchw(grads[0].dataSync(), d.x.shape) }
          disposeAll(tf, [value, ...grads])
          return out
        },
        dispose: () => disposeAll(tf, [xt, gy]),
      } satisfies BenchCase
    }
    case "W3": {
      const d = w3Data()
      const xt = tf.tensor4d(nchwToNhwc(d.x), nhwcShape(d.x.shape))
      const [o, i, kh, kw] = d.weight.shape
      const wt = tf.tensor4d(oihwToHwio(d.weight), [kh, kw, i, o])
      const gy = tf.tensor4d(nchwToNhwc(d.gy), nhwcShape(d.gy.shape))
      const f = tf.valueAndGrads((a: TF.Tensor, w: TF.Tensor) => tf.conv2d(a as TF.Tensor4D, w as TF.Tensor4D, 1, 1))
      return {
        ...base,
        step() {
          const { value, grads } = f([xt, wt], gy)
          disposeAll(tf, [value, ...grads])
        },
        outputs() {
          const { value, grads } = f([xt, wt], gy)
          const out = {
            y: nhwcToNchw(value.dataSync(), d.gy.shape),
            dx: nhwcToNchw(grads[0].dataSync(), d.x.shape),
            dw: hwioToOihw(grads[1].dataSync(), d.weight.shape),
          }
          disposeAll(tf, [value, ...grads])
          return out
        },
        dispose: () => disposeAll(tf, [xt, wt, gy]),
      } satisfies BenchCase
    }
    case "GEMM256":
    case "GEMM512": {
      const n = workload === "GEMM256" ? 256 : 512
      const d = gemmData(n)
      const a = tf.tensor2d(d.a.data, [n, n])
      const b = tf.tensor2d(d.b.data, [n, n])
      return {
        ...base,
        step() {
          tf.matMul(a, b).dispose()
        },
        outputs() {
          const y = tf.matMul(a, b)
          const out = { y: Float32Array.from(y.dataSync()) }
          y.dispose()
          return out
        },
        dispose: () => disposeAll(tf, [a, b]),
      } satisfies BenchCase
    }
  }
}

/** The layout caveat both TF.js systems print. */
export const tfjsLayoutNote = (system: TfjsSystem): string =>
  `${system} computes in NHWC (its max_pool has no NCHW); inputs are transposed once before timing, the numbers are identical`

export const tfjsAdapter: SystemAdapter = {
  name: "tfjs-cpu",
  version: "@tensorflow/tfjs 4.22.0, backend cpu (pure JS)",
  notes: [tfjsLayoutNote("tfjs-cpu")],
  anchor: true,
  createCase: async (workload) => createTfjsCase(await loadTfjs("cpu"), "tfjs-cpu", workload),
}

/** For --check: the tensors' count, to catch leaks in the TF.js cases. */
export async function tfjsTensorCount(): Promise<number> {
  return (loaded ?? (await loadTfjs())).memory().numTensors
}
