/**
 * Fractional max pooling (Graham, 2014), PyTorch's `fractional_max_pool2d/3d`, exact given
 * its random samples. Per (n, c) plane and spatial dim, a sample u in [0, 1) places the
 * windows (ATen's generate_intervals, computed in the input's dtype):
 *
 *   alpha    = (in - k) / (out - 1)
 *   start[i] = trunc((i + u) * alpha) - trunc(u * alpha)     for i < out - 1
 *   start[out - 1] = in - k
 *
 * Each output is the maximum of the k-sized window at those starts. The samples are
 * `samples[n, c, :]`, in PyTorch's order: 2-d [u_W, u_H]; 3-d [u_T, u_H, u_W]. Ties: the
 * first maximum in row-major scan order wins (`>`), as in PyTorch; NaN propagates (the last
 * NaN in the window is the argmax). The gradient is a graph: the upstream scattered to the
 * saved argmax (`scatter_add_planes`, whose own gradient gathers, so double backward works).
 *
 * Samples: pass them as the `samples` input ([N, C, dims] float) to match PyTorch; or pass
 * an int32 scalar `seed` (training: a fresh seed per step) and they are drawn from the
 * seeded xoshiro128** stream, N·C·dims uniforms in row-major order; with neither (an
 * inference graph) every sample is 0.5, a fixed grid — PyTorch draws fresh samples even in
 * eval mode, which is not reproducible.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import { Random } from "../../tensor/random.ts"
import type { Shape } from "../../tensor/shape.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { defineOp } from "../../graph/op.ts"
import { scatterAddPlanes } from "../pool/planes.ts"
import type { WindowList } from "./windows.ts"
import { requireFloat } from "../attrs.ts"

/** Options of fractional_max_pool: kernel_size and exactly one of output_size / output_ratio. */
export interface FractionalMaxPoolOptions {
  readonly kernel_size: number | readonly number[]
  readonly output_size?: number | readonly number[] | null
  readonly output_ratio?: number | readonly number[] | null
}

type FractionalAttrs = { kernel_size: number[]; output_size: number[] | null; output_ratio: number[] | null }

function spatialList(v: unknown, dims: number, name: string, op: string, integer: boolean): number[] {
  const list = typeof v === "number" ? new Array<number>(dims).fill(v) : Array.isArray(v) ? [...(v as number[])] : undefined
  const ok = (x: number): boolean => typeof x === "number" && (integer ? Number.isInteger(x) && x >= 1 : x > 0 && x < 1)
  if (list === undefined || list.length !== dims || !list.every(ok)) {
    throw new AttrError(`${op}: ${name} = ${JSON.stringify(v)} (expected ${integer ? "a positive integer" : "a ratio in (0, 1)"} or a list of ${dims})`)
  }
  return list
}

function fractionalAttrs(raw: FractionalMaxPoolOptions, dims: number, op: string): FractionalAttrs {
  const hasSize = raw.output_size !== undefined && raw.output_size !== null
  const hasRatio = raw.output_ratio !== undefined && raw.output_ratio !== null
  if (hasSize === hasRatio) throw new AttrError(`${op} requires exactly one of output_size and output_ratio (got ${hasSize ? "both" : "neither"})`)
  return {
    kernel_size: spatialList(raw.kernel_size, dims, "kernel_size", op, true),
    output_size: hasSize ? spatialList(raw.output_size, dims, "output_size", op, true) : null,
    output_ratio: hasRatio ? spatialList(raw.output_ratio, dims, "output_ratio", op, false) : null,
  }
}

/** Output spatial sizes, with PyTorch's checks (2-d: out + k - 1 <= in; 3-d: out + k - 1 < in). */
function outputSizes(spatial: readonly number[], a: FractionalAttrs, op: string): number[] {
  const dims = spatial.length
  const out = a.output_size ?? spatial.map((L, d) => Math.trunc(L * a.output_ratio![d]))
  out.forEach((o, d) => {
    const k = a.kernel_size[d]
    const fits = dims === 3 ? o + k - 1 < spatial[d] : o + k - 1 <= spatial[d]
    if (o < 1 || !fits) {
      throw new ShapeError(
        `${op}: output size ${o} with kernel ${k} in spatial dim ${d} does not fit input size ${spatial[d]} (expected 1 <= output and output + kernel - 1 ${dims === 3 ? "<" : "<="} input, as PyTorch requires)`,
      )
    }
  })
  return out
}

/**
 * ATen's generate_intervals: window starts along one dim for sample u, in the input's
 * dtype (`round` is Math.fround for float32, so the truncations match PyTorch's).
 *
 * @example
 * fractionalStarts(0.3, 5, 3, 2) // [0, 1, 3]
 */
export function fractionalStarts(u: number, inSize: number, outSize: number, k: number, round: (v: number) => number = (v) => v): number[] {
  const seq = new Array<number>(outSize)
  if (outSize > 1) {
    const alpha = round(round(inSize - k) / round(outSize - 1))
    const base = Math.trunc(round(round(u) * alpha))
    for (let i = 0; i < outSize - 1; i++) seq[i] = Math.trunc(round(round(i + round(u)) * alpha)) - base
  }
  if (outSize > 0) seq[outSize - 1] = inSize - k
  return seq
}

function splitShape(shape: Shape, dims: number, op: string): { planes: number; spatial: number[]; lead: number[] } {
  if (shape.length !== dims + 2 && shape.length !== dims + 1) throw new ShapeError(`${op}: input ${showShape(shape)} (expected [N, C, ${dims}-d spatial] or [C, ${dims}-d spatial])`)
  const lead = shape.slice(0, shape.length - dims)
  return { planes: lead.reduce((a, b) => a * b, 1), spatial: shape.slice(shape.length - dims), lead }
}

/** The samples of every plane: given, drawn from a seed, or 0.5. */
function planeSamples(planes: number, dims: number, samples: Tensor | undefined, seed: Tensor | undefined): ArrayLike<number> {
  if (samples !== undefined) return samples.data
  const out = new Float64Array(planes * dims)
  if (seed === undefined) return out.fill(0.5)
  const rng = new Random(seed.data[0])
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(0, 1)
  return out
}

/**
 * The windows of a fractional max pool as member lists (flat indices into the whole input,
 * row-major scan order), for the tie analysis and routing tools.
 *
 * @example
 * fractionalWindowList(2, [1, 1, 5, 5], { kernel_size: [2, 2], output_size: [3, 3] }, [0.3, 0.7]).members[0] // [0, 1, 5, 6]
 */
export function fractionalWindowList(dims: 2 | 3, shape: Shape, a: FractionalMaxPoolOptions, samples: ArrayLike<number>, dtype: "float32" | "float64" = "float64"): WindowList {
  const op = `fractional_max_pool${dims}d`
  const attrs = fractionalAttrs(a, dims, op)
  const { planes, spatial } = splitShape(shape, dims, op)
  const out = outputSizes(spatial, attrs, op)
  const round = dtype === "float32" ? Math.fround : (v: number) => v
  const inPlane = spatial.reduce((x, y) => x * y, 1)
  const outPlane = out.reduce((x, y) => x * y, 1)
  const members: Int32Array[] = []
  const sizes3 = [...new Array<number>(3 - dims).fill(1), ...spatial]
  const out3 = [...new Array<number>(3 - dims).fill(1), ...out]
  const k3 = [...new Array<number>(3 - dims).fill(1), ...attrs.kernel_size]
  for (let p = 0; p < planes; p++) {
    // PyTorch's sample order: 2-d [W, H]; 3-d [T, H, W].
    const u = (d: number): number => samples[p * dims + (dims === 2 ? 1 - d : d)]
    const starts = [0, 1, 2].map((d3) => {
      const d = d3 - (3 - dims)
      return d < 0 ? [0] : fractionalStarts(u(d), sizes3[d3], out3[d3], k3[d3], round)
    })
    for (const a0 of starts[0]) {
      for (const b0 of starts[1]) {
        for (const c0 of starts[2]) {
          const list = new Int32Array(k3[0] * k3[1] * k3[2])
          let n = 0
          for (let i = 0; i < k3[0]; i++) for (let j = 0; j < k3[1]; j++) for (let l = 0; l < k3[2]; l++) list[n++] = p * inPlane + ((a0 + i) * sizes3[1] + b0 + j) * sizes3[2] + c0 + l
          members.push(list)
        }
      }
    }
  }
  return { count: members.length, members, inPlane, outPlane }
}

/**
 * The windows a fractional_max_pool node reads, from its input `x`, attrs and its optional
 * `samples` / `seed` inputs resolved exactly as the kernel resolves them (samples given,
 * drawn from the seed, or 0.5; rounded in x's dtype), for the tie-aware checker.
 *
 * @example
 * fractionalNodeWindowList(2, x, { kernel_size: 2, output_size: [3, 3] }, { samples }).members[0]
 */
export function fractionalNodeWindowList(dims: 2 | 3, x: Tensor, a: FractionalMaxPoolOptions, random: { readonly samples?: Tensor; readonly seed?: Tensor } = {}): WindowList {
  const { planes } = splitShape(x.shape, dims, `fractional_max_pool${dims}d`)
  return fractionalWindowList(dims, x.shape, a, planeSamples(planes, dims, random.samples, random.seed), x.dtype === "float32" ? "float32" : "float64")
}

function fractionalOp(dims: 2 | 3) {
  const name = `fractional_max_pool${dims}d`
  return defineOp({
    name,
    doc: "max over windows placed by PyTorch's fractional intervals (samples or a seed)",
    inputs: ["x"],
    optionalInputs: ["samples", "seed"],
    outputs: ["y", "indices"],
    attrs: (raw: FractionalMaxPoolOptions): FractionalAttrs => fractionalAttrs(raw, dims, name),
    infer: ({ x, samples, seed }, a) => {
      requireFloat(x, "x")
      const { planes, spatial, lead } = splitShape(x.shape, dims, name)
      if (samples !== undefined && (samples.dtype === "int32" || samples.shape.reduce((p, q) => p * q, 1) !== planes * dims || samples.shape[samples.shape.length - 1] !== dims)) {
        throw new ShapeError(`${name}: samples ${showShape(samples.shape)} ${samples.dtype} (expected float [N, C, ${dims}] for input ${showShape(x.shape)})`)
      }
      if (seed !== undefined && (seed.dtype !== "int32" || seed.shape.reduce((p, q) => p * q, 1) !== 1)) throw new ShapeError(`${name}: seed is ${showShape(seed.shape)} ${seed.dtype} (expected an int32 scalar [])`)
      const shape = [...lead, ...outputSizes(spatial, a, name)]
      return { y: { shape, dtype: x.dtype }, indices: { shape, dtype: "int32" } }
    },
    kernel: ({ inputs: { x, samples, seed }, outputs: { y, indices }, attrs }) => {
      const w = fractionalNodeWindowList(dims, x, attrs, { samples, seed })
      const xs = x.data
      w.members.forEach((m, o) => {
        let best = m[0]
        let max = -Infinity
        for (let k = 0; k < m.length; k++) {
          const v = xs[m[k]]
          if (v > max || v !== v) {
            max = v
            best = m[k]
          }
        }
        y.data[o] = max
        indices.data[o] = best % w.inPlane
      })
    },
    grad: ({ inputs: { x }, outputs: { indices }, grads: { y: gy } }) => ({ x: scatterAddPlanes(gy!, indices, x.shape.slice(-dims)) }),
  })
}

/** The fractional_max_pool2d op record: inputs `x` and optional `samples` or `seed`, outputs `y` and `indices` (see {@link fractionalMaxPool2d}). */
export const fractionalMaxPool2dOp = fractionalOp(2)
/** The fractional_max_pool3d op record (see {@link fractionalMaxPool3d}). */
export const fractionalMaxPool3dOp = fractionalOp(3)
/** The fractional max-pool ops. */
export const fractionalPoolOps = [fractionalMaxPool2dOp, fractionalMaxPool3dOp]

/** Output and argmax of a fractional max pool. */
export interface FractionalResult {
  readonly y: Value
  readonly indices: Value
}

/**
 * fractional_max_pool2d. `samples` ([N, C, 2], PyTorch's `_random_samples`) or `seed` (an
 * int32 scalar value) choose the windows; with neither, every sample is 0.5.
 *
 * @example
 * fractionalMaxPool2d(x, { kernel_size: 2, output_size: [5, 5] }, { samples }).y
 */
export function fractionalMaxPool2d(x: Value, attrs: FractionalMaxPoolOptions, random: { samples?: Value; seed?: Value } = {}): FractionalResult {
  return x.builder.apply(fractionalMaxPool2dOp, { x, ...random }, attrs)
}

/** fractional_max_pool3d (samples [N, C, 3] in PyTorch's order T, H, W); see {@link fractionalMaxPool2d}. */
export function fractionalMaxPool3d(x: Value, attrs: FractionalMaxPoolOptions, random: { samples?: Value; seed?: Value } = {}): FractionalResult {
  return x.builder.apply(fractionalMaxPool3dOp, { x, ...random }, attrs)
}
