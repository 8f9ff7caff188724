/**
 * The benchmark data: every tensor is drawn from its own seeded stream (the seed is a
 * hash of its name), so each system gets bit-identical float32 numbers whatever order
 * the workloads run in. Tensors are stored in PyTorch's layouts (NCHW activations, OIHW
 * conv weights, [out, in] linear weights); the converters below give each anchor system
 * the same numbers in its native layout, outside the timed region.
 */
import { Random } from "../../src/tensor/random.ts"

/** A float32 tensor in PyTorch layout. */
export interface BenchTensor {
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** int32 class labels. */
export interface BenchLabels {
  readonly shape: readonly [number]
  readonly data: Int32Array
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** FNV-1a of the name: a stable seed per tensor. */
function seedOf(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0
  return h
}

const cache = new Map<string, BenchTensor | BenchLabels>()

/** Uniform in [low, high), float32-rounded. */
export function uniformTensor(name: string, shape: readonly number[], low: number, high: number): BenchTensor {
  const key = `u:${name}:${shape.join("x")}:${low}:${high}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit as BenchTensor
  const r = new Random(seedOf(name))
  const data = new Float32Array(sizeOf(shape))
  for (let i = 0; i < data.length; i++) data[i] = r.uniform(low, high)
  const t = { shape: [...shape], data }
  cache.set(key, t)
  return t
}

/** Standard normal, float32-rounded. */
export function normalTensor(name: string, shape: readonly number[]): BenchTensor {
  const key = `n:${name}:${shape.join("x")}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit as BenchTensor
  const r = new Random(seedOf(name))
  const data = new Float32Array(sizeOf(shape))
  for (let i = 0; i < data.length; i++) data[i] = r.normal()
  const t = { shape: [...shape], data }
  cache.set(key, t)
  return t
}

export function labelTensor(name: string, n: number, classes: number): BenchLabels {
  const key = `l:${name}:${n}:${classes}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit as BenchLabels
  const r = new Random(seedOf(name))
  const data = new Int32Array(n)
  for (let i = 0; i < n; i++) data[i] = r.int(classes)
  const t: BenchLabels = { shape: [n], data }
  cache.set(key, t)
  return t
}

/** LeNet-5 parameter shapes, by PyTorch-style name (the names dagrad's lenet5() uses). */
export const LENET_SHAPES: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["conv1.weight", [6, 1, 5, 5]],
  ["conv1.bias", [6]],
  ["conv2.weight", [16, 6, 5, 5]],
  ["conv2.bias", [16]],
  ["fc1.weight", [120, 400]],
  ["fc1.bias", [120]],
  ["fc2.weight", [84, 120]],
  ["fc2.bias", [84]],
  ["fc3.weight", [10, 84]],
  ["fc3.bias", [10]],
]

/**
 * LeNet-5 initial parameters: PyTorch's default init bound 1/sqrt(fan_in) for weights and
 * biases alike (kaiming_uniform with a = sqrt(5) reduces to exactly that bound).
 */
export function lenetParams(): Map<string, BenchTensor> {
  const fanIn: { [layer: string]: number } = { conv1: 25, conv2: 150, fc1: 400, fc2: 120, fc3: 84 }
  const out = new Map<string, BenchTensor>()
  for (const [name, shape] of LENET_SHAPES) {
    const bound = 1 / Math.sqrt(fanIn[name.split(".")[0]])
    out.set(name, uniformTensor(`lenet.${name}`, shape, -bound, bound))
  }
  return out
}

/** A batch of 1x28x28 "images" in [0, 1) and labels in [0, 10). */
export function lenetBatch(n: number): { x: BenchTensor; labels: BenchLabels } {
  return { x: uniformTensor(`lenet.x.${n}`, [n, 1, 28, 28], 0, 1), labels: labelTensor(`lenet.labels.${n}`, n, 10) }
}

export const W2_SHAPE = [32, 64, 56, 56] as const
export const W3_X_SHAPE = [32, 32, 28, 28] as const
export const W3_W_SHAPE = [64, 32, 3, 3] as const

/** W2: max_pool2d input and the upstream gradient of its output. */
export function w2Data(): { x: BenchTensor; gy: BenchTensor } {
  const [n, c, h, w] = W2_SHAPE
  return { x: normalTensor("w2.x", W2_SHAPE), gy: normalTensor("w2.gy", [n, c, h / 2, w / 2]) }
}

/** W3: conv2d input, weight and upstream gradient (output [32, 64, 28, 28]). */
export function w3Data(): { x: BenchTensor; weight: BenchTensor; gy: BenchTensor } {
  const bound = 1 / Math.sqrt(32 * 9)
  return {
    x: normalTensor("w3.x", W3_X_SHAPE),
    weight: uniformTensor("w3.weight", W3_W_SHAPE, -bound, bound),
    gy: normalTensor("w3.gy", [32, 64, 28, 28]),
  }
}

export function gemmData(n: number): { a: BenchTensor; b: BenchTensor } {
  return { a: uniformTensor(`gemm.a.${n}`, [n, n], -1, 1), b: uniformTensor(`gemm.b.${n}`, [n, n], -1, 1) }
}

// ---- layout converters (run once, before timing) ----

/** NCHW -> NHWC (TF.js's layout; ConvNetJS's Vol is HWC per example). */
export function nchwToNhwc(t: BenchTensor): Float32Array {
  const [n, c, h, w] = t.shape
  const out = new Float32Array(t.data.length)
  const src = t.data
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = src[((b * c + ch) * h + y) * w + x]
  return out
}

/** NHWC -> NCHW (to compare an anchor's result with dagrad's). */
export function nhwcToNchw(data: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = shape
  const out = new Float32Array(n * c * h * w)
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * c + ch) * h + y) * w + x] = data[((b * h + y) * w + x) * c + ch]
  return out
}

/** OIHW conv weight -> HWIO (TF.js filter layout). */
export function oihwToHwio(t: BenchTensor): Float32Array {
  const [o, i, kh, kw] = t.shape
  const out = new Float32Array(t.data.length)
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < i; ic++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + ic) * o + oc] = t.data[((oc * i + ic) * kh + y) * kw + x]
  return out
}

/** HWIO -> OIHW (TF.js filter gradient back to PyTorch's layout). */
export function hwioToOihw(data: ArrayLike<number>, shape: readonly number[]): Float32Array {
  const [o, i, kh, kw] = shape
  const out = new Float32Array(o * i * kh * kw)
  for (let oc = 0; oc < o; oc++)
    for (let ic = 0; ic < i; ic++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((oc * i + ic) * kh + y) * kw + x] = data[((y * kw + x) * i + ic) * o + oc]
  return out
}

/** OIHW conv weight -> one HWC filter per output channel (ConvNetJS's filters[o].w). */
export function oihwToFilters(t: BenchTensor): Float32Array[] {
  const [o, i, kh, kw] = t.shape
  const filters: Float32Array[] = []
  for (let oc = 0; oc < o; oc++) {
    const f = new Float32Array(i * kh * kw)
    for (let ic = 0; ic < i; ic++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) f[(y * kw + x) * i + ic] = t.data[((oc * i + ic) * kh + y) * kw + x]
    filters.push(f)
  }
  return filters
}

/**
 * Linear weight [out, in] whose input is a flattened CHW map -> the same weight for an
 * input flattened in HWC order (what flatten gives in NHWC / ConvNetJS). Returned as
 * [out, in] rows; `transpose` gives [in, out] (TF.js's matMul(x, W) layout).
 */
export function linearForHwcInput(t: BenchTensor, c: number, h: number, w: number): Float32Array {
  const [outF, inF] = t.shape
  const out = new Float32Array(t.data.length)
  for (let o = 0; o < outF; o++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[o * inF + (y * w + x) * c + ch] = t.data[o * inF + (ch * h + y) * w + x]
  return out
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]
  return out
}
