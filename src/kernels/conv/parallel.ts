/**
 * Convolution kernels across threads. Forward and input gradient are split by samples:
 * sample n's output depends only on sample n, so each thread runs the serial kernel (with
 * the serial GEMM) on a contiguous range of samples. The weight gradient sums over
 * samples. For the direct kernel it is still split by samples: each thread writes out the
 * sums of its samples' position blocks and the calling thread adds them in order. Else it
 * is split by taps (columns of gw; each thread builds only its columns of the column
 * matrix) or, where the column matrix is not built per tap range, by output channels, each
 * thread summing all samples in order for its share. Either way every element is computed
 * exactly as on one thread (same bits). Operands the workers cannot see are staged into
 * shared memory first.
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import { type ConvProblem } from "./problem.ts"
import { convBackwardInputSerial, convBackwardWeightSerial, convForwardSerial } from "./serial.ts"
import { directWeightPartials, reduceWeightPartials, useDirectBackwardWeight, weightPartialsLength } from "./direct-weight.ts"
import { gemmSerial } from "../gemm/serial.ts"
import { stageShared } from "../gemm/parallel.ts"
import { useWasmKernels } from "../backend.ts"
import { inputVolume, kernelVolume, outputVolume } from "./im2col.ts"
import { parallelBackend, parallelTasks, runTask, splitRange, threadCount, type TaskArgs } from "../../exec/parallel.ts"

/** Below this many multiply-adds, a batch is not worth posting to other threads. */
const MIN_MULTIPLY_ADDS = 1 << 21

export function worthSplittingBatch(p: ConvProblem): boolean {
  const macs = p.batch * p.outChannels * outputVolume(p.geometry) * (p.inChannels / p.groups) * kernelVolume(p.geometry)
  return p.batch >= 2 && macs >= MIN_MULTIPLY_ADDS
}

/** The problem as numbers for a task (geometry flattened), plus the sample range. */
function encode(p: ConvProblem, n0: number, n1: number): number[] {
  const g = p.geometry
  return [p.inChannels, p.outChannels, p.groups, ...g.inSize, ...g.outSize, ...g.kernel, ...g.stride, ...g.dilation, ...g.padLo, n0, n1]
}

function decode(v: readonly number[]): { p: ConvProblem; n0: number } {
  const t = (i: number): [number, number, number] => [v[i], v[i + 1], v[i + 2]]
  const geometry = { inSize: t(3), outSize: t(6), kernel: t(9), stride: t(12), dilation: t(15), padLo: t(18) }
  return { p: { batch: v[22] - v[21], inChannels: v[0], outChannels: v[1], groups: v[2], geometry }, n0: v[21] }
}

function floatArray(a: unknown): FloatArray {
  if (a instanceof Float32Array || a instanceof Float64Array) return a
  throw new Error("conv task: expected float arrays")
}

// arrays: x, weight, y[, bias]; numbers: the problem and sample range, then relu (0/1)
parallelTasks.set("conv.forward", ({ arrays, numbers }: TaskArgs) => {
  const { p, n0 } = decode(numbers)
  const inPlane = inputVolume(p.geometry)
  const outPlane = outputVolume(p.geometry)
  const x = floatArray(arrays[0]).subarray(n0 * p.inChannels * inPlane)
  const y = floatArray(arrays[2]).subarray(n0 * p.outChannels * outPlane)
  convForwardSerial(x, floatArray(arrays[1]), arrays.length > 3 ? floatArray(arrays[3]) : undefined, y, p, gemmSerial, numbers[23] === 1)
})

// arrays: gy, weight, gx
parallelTasks.set("conv.backward_input", ({ arrays, numbers }: TaskArgs) => {
  const { p, n0 } = decode(numbers)
  const gy = floatArray(arrays[0]).subarray(n0 * p.outChannels * outputVolume(p.geometry))
  const gx = floatArray(arrays[2]).subarray(n0 * p.inChannels * inputVolume(p.geometry))
  convBackwardInputSerial(gy, floatArray(arrays[1]), gx, p, gemmSerial)
})

// arrays: gy, x, gw; numbers: the problem (all samples), then the row range c0, c1
parallelTasks.set("conv.backward_weight", ({ arrays, numbers }: TaskArgs) => {
  const { p } = decode(numbers)
  convBackwardWeightSerial(floatArray(arrays[0]), floatArray(arrays[1]), floatArray(arrays[2]), p, gemmSerial, numbers[23], numbers[24])
})

// arrays: gy, x, gw; numbers: the problem (all samples), then the tap range t0, t1
parallelTasks.set("conv.backward_weight_taps", ({ arrays, numbers }: TaskArgs) => {
  const { p } = decode(numbers)
  convBackwardWeightSerial(floatArray(arrays[0]), floatArray(arrays[1]), floatArray(arrays[2]), p, gemmSerial, 0, p.outChannels / p.groups, numbers[23], numbers[24])
})

// arrays: gy, x, partials; numbers: the problem (all samples), then the sample range n0, n1
parallelTasks.set("conv.backward_weight_samples", ({ arrays, numbers }: TaskArgs) => {
  const { p } = decode(numbers)
  const partials = arrays[2]
  if (!(partials instanceof Float64Array)) throw new Error("conv task: expected float64 partial sums")
  directWeightPartials(floatArray(arrays[0]), floatArray(arrays[1]), partials, p, numbers[23], numbers[24])
})

const staging: (FloatArray | undefined)[] = [undefined, undefined, undefined, undefined]

function parts(p: ConvProblem, arrays: FloatArray[]): TaskArgs[] {
  return splitRange(p.batch, threadCount()).map(([n0, n1]) => ({ arrays, numbers: encode(p, n0, n1) }))
}

/** convForward split by samples (see the header); y zero-filled. */
export function convForwardParallel(x: FloatArray, weight: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem, relu = false): void {
  const backend = parallelBackend()
  if (backend === undefined) return convForwardSerial(x, weight, bias, y, p, gemmSerial, relu)
  const sx = stageShared(staging, backend, 0, x, p.batch * p.inChannels * inputVolume(p.geometry))
  const sw = stageShared(staging, backend, 1, weight, weight.length)
  const yLength = p.batch * p.outChannels * outputVolume(p.geometry)
  const sy = stageShared(staging, backend, 2, y, yLength)
  const arrays = [sx, sw, sy]
  if (bias !== undefined) arrays.push(stageShared(staging, backend, 3, bias, bias.length))
  runTask(
    "conv.forward",
    parts(p, arrays).map((part) => ({ ...part, numbers: [...part.numbers, relu ? 1 : 0] })),
  )
  if (sy !== y) y.set(sy.subarray(0, yLength))
}

/** convBackwardInput split by samples (see the header); gx zero-filled. */
export function convBackwardInputParallel(gy: FloatArray, weight: FloatArray, gx: FloatArray, p: ConvProblem): void {
  const backend = parallelBackend()
  if (backend === undefined) return convBackwardInputSerial(gy, weight, gx, p, gemmSerial)
  const sgy = stageShared(staging, backend, 0, gy, p.batch * p.outChannels * outputVolume(p.geometry))
  const sw = stageShared(staging, backend, 1, weight, weight.length)
  const gxLength = p.batch * p.inChannels * inputVolume(p.geometry)
  const sgx = stageShared(staging, backend, 2, gx, gxLength)
  runTask("conv.backward_input", parts(p, [sgy, sw, sgx]))
  if (sgx !== gx) gx.set(sgx.subarray(0, gxLength))
}

/**
 * convBackwardWeight split by output channels within each group, or by taps (columns of
 * each group's block) for the direct kernel (see the header).
 */
export function convBackwardWeightParallel(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem, by: "channels" | "taps"): void {
  const backend = parallelBackend()
  const coutG = p.outChannels / p.groups
  if (backend === undefined) return convBackwardWeightSerial(gy, x, gw, p, gemmSerial, 0, coutG)
  const sgy = stageShared(staging, backend, 0, gy, p.batch * p.outChannels * outputVolume(p.geometry))
  const sx = stageShared(staging, backend, 1, x, p.batch * p.inChannels * inputVolume(p.geometry))
  const sgw = stageShared(staging, backend, 2, gw, gw.length)
  const whole = encode(p, 0, p.batch)
  const taps = (p.inChannels / p.groups) * kernelVolume(p.geometry)
  // tap ranges in whole pairs (6 taps) for the direct kernel, whole 3-column panels for the
  // GEMM (LeNet's 150 taps: 75 + 75, not 72 + 78)
  // (the WASM GEMM's panels are 8 columns wide)
  const tapAlign = gw instanceof Float32Array && useWasmKernels() ? 8 : useDirectBackwardWeight(p) ? 6 : 3
  const ranges = by === "channels" ? splitRange(coutG, threadCount(), 4) : splitRange(taps, threadCount(), tapAlign)
  const parts = ranges.map(([r0, r1]) => ({ arrays: [sgy, sx, sgw], numbers: [...whole, r0, r1] }))
  runTask(by === "channels" ? "conv.backward_weight" : "conv.backward_weight_taps", parts)
  if (sgw !== gw) gw.set(sgw.subarray(0, gw.length))
}

/** Largest partial-sum buffer (float64 entries) the by-samples weight gradient may use: 8 MiB. */
const MAX_PARTIALS = 1 << 20

/** True when {@link convBackwardWeightBySamples} takes the problem (direct kernel's, partials fit). */
export function weightGradientBySamples(p: ConvProblem): boolean {
  return weightPartialsLength(p) <= MAX_PARTIALS
}

let partialsBuf: Float64Array | undefined

/**
 * The direct kernel's weight gradient split by samples: each thread writes the sums of its
 * samples' position blocks (directWeightPartials), then this thread adds them up in sample
 * and block order, so every element has the bits of one thread. Unlike a split by taps,
 * no thread repeats another's padding of the inputs, and the shares are equal.
 */
export function convBackwardWeightBySamples(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem): void {
  const backend = parallelBackend()
  const length = weightPartialsLength(p)
  if (backend === undefined) return convBackwardWeightSerial(gy, x, gw, p, gemmSerial, 0, p.outChannels / p.groups)
  if (partialsBuf === undefined || partialsBuf.length < length) {
    const fresh = backend.allocShared("float64", length)
    if (!(fresh instanceof Float64Array)) throw new Error("expected a float64 buffer")
    partialsBuf = fresh
  }
  const partials = partialsBuf
  const sgy = stageShared(staging, backend, 0, gy, p.batch * p.outChannels * outputVolume(p.geometry))
  const sx = stageShared(staging, backend, 1, x, p.batch * p.inChannels * inputVolume(p.geometry))
  const whole = encode(p, 0, p.batch)
  runTask(
    "conv.backward_weight_samples",
    splitRange(p.batch, threadCount()).map(([n0, n1]) => ({ arrays: [sgy, sx, partials], numbers: [...whole, n0, n1] })),
  )
  reduceWeightPartials(partials, gw, p)
}
