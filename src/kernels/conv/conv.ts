/**
 * The convolution kernels ops call. Each runs on this thread (./serial.ts) or, with a
 * parallel backend and a large enough batch, split across threads (./parallel.ts); the
 * split never changes the bits.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { threadCount } from "../../exec/parallel.ts"
import { canPrepackB } from "../gemm/serial.ts"
import { gemm } from "../gemm/gemm.ts"
import { isDepthwise } from "./depthwise.ts"
import { canIm2colPacked } from "./direct.ts"
import { useDirectBackwardWeight } from "./direct-weight.ts"
import { convBackwardInputParallel, convBackwardWeightBySamples, convBackwardWeightParallel, convForwardParallel, weightGradientBySamples, worthSplittingBatch } from "./parallel.ts"
import type { ConvProblem } from "./problem.ts"
import { useWasmKernels } from "../backend.ts"
import { convBackwardInputSerial, convBackwardWeightSerial, convForwardSerial, gemmSizes, isPointwise } from "./serial.ts"

/**
 * y = conv(x, weight) + bias, then relu(y) when `relu` (a fused epilogue, applied sample by
 * sample while the sample's output is in cache). With a parallel backend, large batches are
 * split across threads by samples (each sample's result does not depend on the split).
 */
export function convForward(x: FloatArray, weight: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem, relu = false): void {
  if (threadCount() > 1 && worthSplittingBatch(p)) convForwardParallel(x, weight, bias, y, p, relu)
  else convForwardSerial(x, weight, bias, y, p, gemm, relu)
}

/**
 * gx = the input gradient of conv for upstream gy (the transposed convolution of gy); gx
 * zero-filled. Split across threads by samples like {@link convForward}.
 */
export function convBackwardInput(gy: FloatArray, weight: FloatArray, gx: FloatArray, p: ConvProblem): void {
  if (threadCount() > 1 && worthSplittingBatch(p)) convBackwardInputParallel(gy, weight, gx, p)
  else convBackwardInputSerial(gy, weight, gx, p, gemm)
}

/**
 * gw = the weight gradient of conv for input x and upstream gy (summed over the batch, in
 * sample order). With a parallel backend, the taps (columns of gw) or the output
 * channels of each group are split across threads, each thread running all samples for
 * its share, never the samples, so every element's summation order, and so its bits,
 * stay those of one thread. Taps when the column matrix is built per tap range (each
 * thread then builds only its columns), else channels.
 */
export function convBackwardWeight(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem): void {
  // The WASM kernels split by taps only (whole 8-column panels of gw; a split by samples
  // would change each sum's order): each thread packs just its columns of col^T
  if (gw instanceof Float32Array && useWasmKernels() && !isDepthwise(p)) {
    if (threadCount() > 1 && worthSplittingBatch(p)) return convBackwardWeightParallel(gy, x, gw, p, "taps")
    return convBackwardWeightSerial(gy, x, gw, p, gemm, 0, p.outChannels / p.groups)
  }
  if (threadCount() > 1 && !isDepthwise(p) && worthSplittingBatch(p)) {
    if (useDirectBackwardWeight(p) && weightGradientBySamples(p)) return convBackwardWeightBySamples(gy, x, gw, p)
    // by taps when each thread can build just its columns of col^T (no duplicated im2col)
    if (useDirectBackwardWeight(p) || prepacksWeightGradient(p)) return convBackwardWeightParallel(gy, x, gw, p, "taps")
    if (p.outChannels / p.groups >= 8) return convBackwardWeightParallel(gy, x, gw, p, "channels")
  }
  convBackwardWeightSerial(gy, x, gw, p, gemm, 0, p.outChannels / p.groups)
}

/** True when the weight gradient of `p` writes col^T straight into gemm's packed panels. */
function prepacksWeightGradient(p: ConvProblem): boolean {
  const { coutG, K, P } = gemmSizes(p)
  return !isPointwise(p.geometry) && canIm2colPacked(p) && canPrepackB(coutG, K, P)
}
