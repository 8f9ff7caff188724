/**
 * matmul and linear. Both run on the one GEMM kernel (src/kernels/gemm/); their gradient
 * rules are built from matmul, transpose, reshape and sumTo, so they differentiate again.
 */
import { AttrError, ShapeError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { TensorSpec } from "../../graph/types.ts"
import { gemm } from "../../kernels/gemm/gemm.ts"
import { reluForward } from "../../kernels/pointwise/relu.ts"
import type { FloatArray } from "../../tensor/dtype.ts"
import { broadcastShapes, broadcastStrides, sizeOf, type Shape } from "../../tensor/shape.ts"
import { defineOp } from "../../graph/op.ts"
import { sumTo } from "../pointwise/index.ts"
import { reshape, transpose } from "../shape/index.ts"
import { requireFloat } from "../attrs.ts"

// ---------------------------------------------------------------- matmul

/**
 * torch.matmul's reading of two shapes: 1-d a is a row [1, K] (that dim is dropped from
 * the result), 1-d b a column [K, 1] (likewise); otherwise the last two dims are matrices
 * and the leading dims broadcast.
 */
interface MatmulGeometry {
  readonly batch: number[]
  /** a and b as (batch..., rows, cols) after promoting 1-d operands. */
  readonly a: number[]
  readonly b: number[]
  readonly M: number
  readonly K: number
  readonly N: number
  readonly out: number[]
}

function matmulGeometry(aShape: Shape, bShape: Shape): MatmulGeometry {
  if (aShape.length === 0 || bShape.length === 0) {
    throw new ShapeError(`matmul of ${showShape(aShape)} and ${showShape(bShape)} (expected both operands to have rank >= 1)`)
  }
  const a = aShape.length === 1 ? [1, aShape[0]] : [...aShape]
  const b = bShape.length === 1 ? [bShape[0], 1] : [...bShape]
  const M = a[a.length - 2]
  const K = a[a.length - 1]
  const N = b[b.length - 1]
  if (b[b.length - 2] !== K) {
    throw new ShapeError(
      `matmul of ${showShape(aShape)} and ${showShape(bShape)}: inner sizes ${K} and ${b[b.length - 2]} differ (expected a's last dim to equal b's ${bShape.length === 1 ? "only" : "second-to-last"} dim)`,
    )
  }
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2))
  const out = [...batch]
  if (aShape.length > 1) out.push(M)
  if (bShape.length > 1) out.push(N)
  return { batch, a, b, M, K, N, out }
}

function matmulKernel(aData: FloatArray, aShape: Shape, bData: FloatArray, bShape: Shape, y: FloatArray): void {
  const g = matmulGeometry(aShape, bShape)
  const { M, K, N, batch } = g
  const count = sizeOf(batch)
  // Offsets of each batch entry in a and b: broadcast strides over the batch dims, in units
  // of whole matrices.
  const sa = broadcastStrides(g.a.slice(0, -2), batch)
  const sb = broadcastStrides(g.b.slice(0, -2), batch)
  const index = new Array<number>(batch.length).fill(0)
  let ia = 0
  let ib = 0
  for (let t = 0; t < count; t++) {
    gemm(false, false, M, N, K, 1, aData.subarray(ia * M * K), K, bData.subarray(ib * K * N), N, 0, y.subarray(t * M * N), N)
    for (let d = batch.length - 1; d >= 0; d--) {
      index[d]++
      ia += sa[d]
      ib += sb[d]
      if (index[d] < batch[d]) break
      ia -= sa[d] * batch[d]
      ib -= sb[d] * batch[d]
      index[d] = 0
    }
  }
}

function floatData(t: { data: unknown }): FloatArray {
  if (t.data instanceof Float32Array || t.data instanceof Float64Array) return t.data
  throw new ShapeError("expected a float tensor")
}

/** The matmul op record (torch.matmul): inputs `a`, `b`, output `y`; batch dims broadcast and 1-d operands are vectors (see {@link matmul}). */
export const matmulOp = defineOp({
  name: "matmul",
  doc: "torch.matmul: matrix product with batch broadcasting; 1-d operands are vectors",
  inputs: ["a", "b"],
  outputs: ["y"],
  infer: ({ a, b }) => {
    requireFloat(a, "a")
    requireFloat(b, "b")
    return { y: { shape: matmulGeometry(a.shape, b.shape).out, dtype: a.dtype } }
  },
  kernel: ({ inputs: { a, b }, outputs: { y } }) => matmulKernel(floatData(a), a.shape, floatData(b), b.shape, floatData(y)),
  // gemm with beta 0 writes every element (zeros when K = 0)
  overwritesOutputs: true,
  // multiply-adds: every output times the inner dimension
  cost: ({ a }, { y }) => sizeOf(y.shape) * a.shape[a.shape.length - 1],
  // With a, b promoted to matrices (a2 = a as [.., M, K], b2 = b as [.., K, N]) and gy as
  // [batch.., M, N]: da2 = gy b2^T, db2 = a2^T gy, each summed over the batch dims that
  // were broadcast, then reshaped back to the operand's own shape.
  grad: ({ inputs: { a, b }, grads: { y: gy }, needsGrad }) => {
    const g = matmulGeometry(a.shape, b.shape)
    const gy2 = reshape(gy!, [...g.batch, g.M, g.N])
    const a2 = a.rank === 1 ? reshape(a, g.a) : a
    const b2 = b.rank === 1 ? reshape(b, g.b) : b
    return {
      a: needsGrad("a") ? reshape(sumTo(matmul(gy2, transpose(b2, -1, -2)), g.a), a.shape) : undefined,
      b: needsGrad("b") ? reshape(sumTo(matmul(transpose(a2, -1, -2), gy2), g.b), b.shape) : undefined,
    }
  },
})

/**
 * torch.matmul(a, b): matrix product, batched over broadcast leading dims; a 1-d operand
 * is a vector (its dim is removed from the result).
 *
 * @example
 * const y = matmul(a, b) // [2, 3, 4] x [4, 5] -> [2, 3, 5]
 */
export const matmul = (a: Value, b: Value): Value => a.builder.apply(matmulOp, { a, b }).y

// ---------------------------------------------------------------- linear

type LinearAttrs = { in_features: number | null; out_features: number | null; bias: boolean | null }
type RawLinearAttrs = { in_features?: number | null; out_features?: number | null; bias?: boolean | null }

function optionalCount(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new AttrError(`${name} = ${JSON.stringify(v)} (expected a non-negative integer)`)
  return v
}

function linearAttrs(raw: RawLinearAttrs): LinearAttrs {
  if (raw.bias !== undefined && raw.bias !== null && typeof raw.bias !== "boolean") {
    throw new AttrError(`bias = ${JSON.stringify(raw.bias)} (expected a boolean)`)
  }
  return { in_features: optionalCount(raw.in_features, "in_features"), out_features: optionalCount(raw.out_features, "out_features"), bias: raw.bias ?? null }
}

function linearInfer(x: TensorSpec, weight: TensorSpec, bias: TensorSpec | undefined, a: LinearAttrs): TensorSpec {
  requireFloat(x, "x")
  requireFloat(weight, "weight")
  if (weight.shape.length !== 2) throw new ShapeError(`weight ${showShape(weight.shape)} (expected rank 2: (out_features, in_features))`)
  const [out, inF] = weight.shape
  if (x.shape.length === 0) throw new ShapeError(`x is a scalar (expected shape (..., ${inF}))`)
  if (x.shape[x.shape.length - 1] !== inF) {
    throw new ShapeError(`x ${showShape(x.shape)} has ${x.shape[x.shape.length - 1]} features but weight ${showShape(weight.shape)} takes ${inF} (expected x's last dim = weight.shape[1])`)
  }
  if (a.in_features !== null && a.in_features !== inF) throw new ShapeError(`in_features = ${a.in_features} but weight ${showShape(weight.shape)} takes ${inF} (expected equal)`)
  if (a.out_features !== null && a.out_features !== out) throw new ShapeError(`out_features = ${a.out_features} but weight ${showShape(weight.shape)} gives ${out} (expected equal)`)
  if (bias !== undefined) {
    requireFloat(bias, "bias")
    if (bias.shape.length !== 1 || bias.shape[0] !== out) throw new ShapeError(`bias ${showShape(bias.shape)} (expected [${out}])`)
  }
  if (a.bias === true && bias === undefined) throw new ShapeError("attr bias = true but no bias input was given (expected a bias of shape [out_features])")
  if (a.bias === false && bias !== undefined) throw new ShapeError("attr bias = false but a bias input was given (expected none)")
  return { shape: [...x.shape.slice(0, -1), out], dtype: x.dtype }
}

/** The linear op record (F.linear): y = x weight^T + bias, inputs `x`, `weight` (out_features, in_features) and optional `bias` (see {@link linear}). */
export const linearOp = defineOp({
  name: "linear",
  doc: "y = x weight^T + bias; weight is (out_features, in_features)",
  inputs: ["x", "weight"],
  optionalInputs: ["bias"],
  outputs: ["y"],
  attrs: linearAttrs,
  infer: ({ x, weight, bias }, a) => ({ y: linearInfer(x, weight, bias, a) }),
  kernel: ({ inputs: { x, weight, bias }, outputs: { y }, activation }) => {
    const [out, inF] = weight.shape
    // rows from the leading dims: sizeOf(x) / inF is 0 when inF = 0, leaving y unwritten
    const rows = sizeOf(x.shape.slice(0, -1))
    const yd = floatData(y)
    let beta = 0
    // Fused bias: start every row of y at the bias, then accumulate x W^T onto it.
    if (bias !== undefined) {
      const bd = bias.data
      for (let r = 0; r < rows; r++) for (let o = 0; o < out; o++) yd[r * out + o] = bd[o]
      beta = 1
    }
    // with inF = 0, gemm leaves y at the bias (beta 1) or writes zeros (beta 0)
    gemm(false, true, rows, out, inF, 1, floatData(x), inF, floatData(weight), inF, beta, yd, out)
    if (activation === "relu") reluForward(yd, yd)
  },
  overwritesOutputs: true,
  activations: ["relu"],
  cost: ({ weight }, { y }) => sizeOf(y.shape) * weight.shape[1],
  // y = x W^T + b over rows r of x: dx = gy W, dW = sum_r gy_r^T x_r, db = sum_r gy_r.
  grad: ({ inputs: { x, weight, bias }, grads: { y: gy }, needsGrad }) => {
    const [out, inF] = weight.shape
    // explicit row count: reshape's -1 is ambiguous when a feature count is 0
    const rows = sizeOf(x.shape.slice(0, -1))
    return {
      x: needsGrad("x") ? matmul(gy!, weight) : undefined,
      weight: needsGrad("weight") ? matmul(transpose(reshape(gy!, [rows, out]), 0, 1), reshape(x, [rows, inF])) : undefined,
      bias: bias !== undefined && needsGrad("bias") ? sumTo(gy!, [out]) : undefined,
    }
  },
})

/**
 * torch.nn.functional.linear: y = x weight^T + bias, weight of shape
 * (out_features, in_features); x may have any leading dims.
 *
 * @example
 * const y = linear(x, w, b) // x [N, 784], w [10, 784], b [10] -> [N, 10]
 */
export const linear = (x: Value, weight: Value, bias?: Value): Value => x.builder.apply(linearOp, { x, weight, bias }).y

export const linalgOps = [matmulOp, linearOp] as const
