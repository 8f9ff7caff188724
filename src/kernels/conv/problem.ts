/** What every convolution kernel is given: the problem's sizes and geometry. */
import type { gemmSerial } from "../gemm/serial.ts"
import type { ConvGeometry } from "./im2col.ts"

/** Sizes of one convolution problem. */
export interface ConvProblem {
  readonly batch: number
  readonly inChannels: number
  readonly outChannels: number
  readonly groups: number
  readonly geometry: ConvGeometry
}

/** The GEMM a kernel uses: `gemm` (may split rows across threads) or `gemmSerial`. */
export type GemmFunction = typeof gemmSerial
