/**
 * im2col for 1-, 2- and 3-d convolutions, written once for 3 spatial dims: a 1-d
 * or 2-d problem is the 3-d one with leading spatial sizes 1 (kernel 1, stride 1, no
 * padding there), which costs nothing but a few loop iterations of length 1.
 *
 * The column matrix of one (sample, group) has one row per (channel, kd, kh, kw) and one
 * column per output position (od, oh, ow), row-major:
 *
 *   col[((c*kD + kd)*kH + kh)*kW + kw, (od*outH + oh)*outW + ow]
 *     = x[c, od*sD - pD + kd*dD, oh*sH - pH + kh*dH, ow*sW - pW + kw*dW]   (0 outside x)
 *
 * so a convolution is W (C_out x C*k) times col (C*k x P), and its input gradient is
 * col2im(W^T gy): the same index map with the arrows reversed, accumulating. That
 * reversal happens inside the GEMM (gemmScatterAdd, see conv.ts), so there is no col2im
 * loop of its own.
 */
import type { FloatArray } from "../../tensor/dtype.ts"

/** The geometry of one convolution, as 3 spatial dims (leading ones 1 for 1-d and 2-d). */
export interface ConvGeometry {
  readonly inSize: readonly [number, number, number]
  readonly outSize: readonly [number, number, number]
  readonly kernel: readonly [number, number, number]
  readonly stride: readonly [number, number, number]
  readonly dilation: readonly [number, number, number]
  /** Zeros before the input (left/top/front) per dim; the right side is implied by outSize. */
  readonly padLo: readonly [number, number, number]
}

type Triple = [number, number, number]

/** Lifts per-spatial-dim arrays of 1..3 entries to the 3-d geometry. */
export function convGeometry(
  inSize: readonly number[],
  outSize: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
  padLo: readonly number[],
): ConvGeometry {
  const lift = (v: readonly number[], fill: number): Triple => {
    const out: Triple = [fill, fill, fill]
    for (let i = 0; i < v.length; i++) out[3 - v.length + i] = v[i]
    return out
  }
  return {
    inSize: lift(inSize, 1),
    outSize: lift(outSize, 1),
    kernel: lift(kernel, 1),
    stride: lift(stride, 1),
    dilation: lift(dilation, 1),
    padLo: lift(padLo, 0),
  }
}

/** Product of the kernel sizes. */
export const kernelVolume = (g: ConvGeometry): number => g.kernel[0] * g.kernel[1] * g.kernel[2]
/** Number of output positions. */
export const outputVolume = (g: ConvGeometry): number => g.outSize[0] * g.outSize[1] * g.outSize[2]
/** Number of input positions. */
export const inputVolume = (g: ConvGeometry): number => g.inSize[0] * g.inSize[1] * g.inSize[2]

/** True when im2col would copy x unchanged (1x1 kernel, stride 1, no padding, out = in). */
export function isPointwise(g: ConvGeometry): boolean {
  for (let i = 0; i < 3; i++) {
    if (g.kernel[i] !== 1 || g.stride[i] !== 1 || g.padLo[i] !== 0 || g.outSize[i] !== g.inSize[i]) return false
  }
  return true
}

/**
 * The outputs o in [0, out) whose input position o*s + offset lies in [0, size) form the
 * range [validLo, validHi), with 0 <= validLo <= validHi <= out even when the range is
 * empty (padding wider than the output: a tap that meets no input), so a loop may run
 * 0 .. validLo .. validHi .. out in sequence. Lets the inner loops run without a bounds
 * test per element. (Two scalar functions rather than one returning a pair: destructuring
 * an array in a loop nest costs an allocation and an iterator walk in V8.)
 */
export function validLo(out: number, s: number, offset: number): number {
  // o*s + offset >= 0  <=>  o >= ceil(-offset / s)
  // `| 0`: Math.ceil and Math.floor are typed as doubles; without it every loop index
  // derived from these bounds becomes a double in V8 (measured 2x slower loops).
  return Math.min(out, Math.max(0, Math.ceil(-offset / s))) | 0
}

export function validHi(out: number, s: number, offset: number, size: number): number {
  // o*s + offset <= size - 1  <=>  o <= floor((size - 1 - offset) / s); never below validLo
  return Math.max(validLo(out, s, offset), Math.min(out, Math.floor((size - 1 - offset) / s) + 1)) | 0
}

/**
 * Writes the column matrix of `channels` input channels starting at `xOff` (planes of
 * inputVolume(g) elements) into `col` (channels*kernelVolume rows of outputVolume).
 * Every entry of col is written (padding as 0), so col needs no clearing.
 */
export function im2col(x: FloatArray, xOff: number, channels: number, g: ConvGeometry, col: FloatArray): void {
  const [inD, inH, inW] = g.inSize
  const [outD, outH, outW] = g.outSize
  const [kD, kH, kW] = g.kernel
  const [sD, sH, sW] = g.stride
  const [dD, dH, dW] = g.dilation
  const [pD, pH, pW] = g.padLo
  const plane = inD * inH * inW
  let o = 0
  for (let c = 0; c < channels; c++) {
    const xc = xOff + c * plane
    for (let kd = 0; kd < kD; kd++) {
      const d0 = validLo(outD, sD, kd * dD - pD)
      const d1 = validHi(outD, sD, kd * dD - pD, inD)
      for (let kh = 0; kh < kH; kh++) {
        const h0 = validLo(outH, sH, kh * dH - pH)
        const h1 = validHi(outH, sH, kh * dH - pH, inH)
        for (let kw = 0; kw < kW; kw++) {
          const offW = kw * dW - pW
          const w0 = validLo(outW, sW, offW)
          const w1 = validHi(outW, sW, offW, inW)
          for (let od = 0; od < outD; od++) {
            if (od < d0 || od >= d1) {
              for (let i = 0; i < outH * outW; i++) col[o++] = 0
              continue
            }
            const id = od * sD + kd * dD - pD
            for (let oh = 0; oh < outH; oh++) {
              if (oh < h0 || oh >= h1) {
                for (let i = 0; i < outW; i++) col[o++] = 0
                continue
              }
              const src = xc + (id * inH + oh * sH + kh * dH - pH) * inW + offW
              let ow = 0
              for (; ow < w0; ow++) col[o++] = 0
              for (; ow < w1; ow++) col[o++] = x[src + ow * sW]
              for (; ow < outW; ow++) col[o++] = 0
            }
          }
        }
      }
    }
  }
}

// The zero-padded input: kernels that read windows from a padded copy of the input (the
// direct convolutions, im2col into packed panels, the scatter-GEMM input gradient) need
// no bounds tests, and window entry (tap t, output position j) sits at
// tapOffsets[t] + positionOffsets[j] in it.

/** Sizes (D, H, W) of the zero-padded input: it holds every position any window reads. */
export function paddedSizes(g: ConvGeometry): [number, number, number] {
  const size = (i: number): number => Math.max(g.padLo[i] + g.inSize[i], (g.outSize[i] - 1) * g.stride[i] + (g.kernel[i] - 1) * g.dilation[i] + 1)
  return [size(0), size(1), size(2)]
}

/** out[t] = offset of tap t = (c, kd, kh, kw) in a padded input of `channels` planes. */
export function tapOffsets(channels: number, g: ConvGeometry, out: Int32Array): void {
  const [Dp, Hp, Wp] = paddedSizes(g)
  const plane = Dp * Hp * Wp
  const [kD, kH, kW] = g.kernel
  const [dD, dH, dW] = g.dilation
  let t = 0
  for (let c = 0; c < channels; c++) {
    for (let kd = 0; kd < kD; kd++) {
      for (let kh = 0; kh < kH; kh++) {
        for (let kw = 0; kw < kW; kw++) out[t++] = c * plane + (kd * dD * Hp + kh * dH) * Wp + kw * dW
      }
    }
  }
}

/** out[j] = offset of output position j's window origin (tap 0) in the padded input. */
export function positionOffsets(g: ConvGeometry, out: Int32Array): void {
  const [, Hp, Wp] = paddedSizes(g)
  const [outD, outH, outW] = g.outSize
  const [sD, sH, sW] = g.stride
  let j = 0
  for (let od = 0; od < outD; od++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) out[j++] = (od * sD * Hp + oh * sH) * Wp + ow * sW
    }
  }
}

/**
 * The first channels * Dp * Hp * Wp entries of `out` = x's `channels` planes at xOff,
 * zero-padded, in planes of `sizes` (default {@link paddedSizes}; larger sizes give extra
 * zeros after the input, as tiles that overrun the last output need).
 */
export function padInput(x: FloatArray, xOff: number, channels: number, g: ConvGeometry, out: Float64Array, sizes: readonly [number, number, number] = paddedSizes(g)): void {
  const [Dp, Hp, Wp] = sizes
  const [inD, inH, inW] = g.inSize
  const [pD, pH, pW] = g.padLo
  out.fill(0, 0, channels * Dp * Hp * Wp)
  let src = xOff
  for (let c = 0; c < channels; c++) {
    for (let d = 0; d < inD; d++) {
      for (let h = 0; h < inH; h++, src += inW) {
        const dst = ((c * Dp + d + pD) * Hp + h + pH) * Wp + pW
        for (let w = 0; w < inW; w++) out[dst + w] = x[src + w]
      }
    }
  }
}
