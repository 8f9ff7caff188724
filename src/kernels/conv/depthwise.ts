/**
 * Direct loops for convolutions with one input channel per group (depthwise, groups =
 * C_in, and any channel multiplier C_out/groups). There im2col + GEMM degenerates into
 * many GEMMs with one row, where packing costs more than the arithmetic (measured ~0.2
 * GFLOP/s); these loops walk each kernel tap across the valid output range instead.
 *
 * Output channel co reads input channel co / (C_out/groups). For each tap (kd, kh, kw)
 * and output row (od, oh), the outputs ow in [w0, w1) read x at ow*sW + kw*dW - pW, all
 * inside the input (validLo/validHi), so the inner loops need no bounds tests.
 * Every output element accumulates its taps in the fixed order (kd, kh, kw).
 */
import type { FloatArray } from "../../tensor/dtype.ts"
import type { ConvProblem } from "./problem.ts"
import { inputVolume, outputVolume, validHi, validLo } from "./im2col.ts"

/** True when each group has one input channel and few output channels. */
export function isDepthwise(p: ConvProblem): boolean {
  return p.inChannels === p.groups && p.outChannels / p.groups <= 4
}

/** y = conv(x, w) (+ bias), y zero-filled. */
export function depthwiseForward(x: FloatArray, w: FloatArray, bias: FloatArray | undefined, y: FloatArray, p: ConvProblem): void {
  const g = p.geometry
  const [inD, inH, inW] = g.inSize
  const [outD, outH, outW] = g.outSize
  const [kD, kH, kW] = g.kernel
  const [sD, sH, sW] = g.stride
  const [dD, dH, dW] = g.dilation
  const [pD, pH, pW] = g.padLo
  const inPlane = inputVolume(g)
  const outPlane = outputVolume(g)
  const taps = kD * kH * kW
  const mult = p.outChannels / p.groups
  for (let n = 0; n < p.batch; n++) {
    for (let co = 0; co < p.outChannels; co++) {
      const xc = (n * p.inChannels + Math.floor(co / mult)) * inPlane
      const yc = (n * p.outChannels + co) * outPlane
      if (bias !== undefined) y.fill(bias[co], yc, yc + outPlane)
      let t = co * taps
      for (let kd = 0; kd < kD; kd++) {
        const d0 = validLo(outD, sD, kd * dD - pD)
        const d1 = validHi(outD, sD, kd * dD - pD, inD)
        for (let kh = 0; kh < kH; kh++) {
          const h0 = validLo(outH, sH, kh * dH - pH)
          const h1 = validHi(outH, sH, kh * dH - pH, inH)
          for (let kw = 0; kw < kW; kw++, t++) {
            const wv = w[t]
            const offW = kw * dW - pW
            const w0 = validLo(outW, sW, offW)
            const w1 = validHi(outW, sW, offW, inW)
            for (let od = d0; od < d1; od++) {
              const id = od * sD + kd * dD - pD
              for (let oh = h0; oh < h1; oh++) {
                const src = xc + (id * inH + oh * sH + kh * dH - pH) * inW + offW
                const dst = yc + (od * outH + oh) * outW
                for (let ow = w0; ow < w1; ow++) y[dst + ow] += wv * x[src + ow * sW]
              }
            }
          }
        }
      }
    }
  }
}

/** gx += the input gradient for upstream gy (gx zero-filled). */
export function depthwiseBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, p: ConvProblem): void {
  const g = p.geometry
  const [inD, inH, inW] = g.inSize
  const [outD, outH, outW] = g.outSize
  const [kD, kH, kW] = g.kernel
  const [sD, sH, sW] = g.stride
  const [dD, dH, dW] = g.dilation
  const [pD, pH, pW] = g.padLo
  const inPlane = inputVolume(g)
  const outPlane = outputVolume(g)
  const taps = kD * kH * kW
  const mult = p.outChannels / p.groups
  for (let n = 0; n < p.batch; n++) {
    for (let co = 0; co < p.outChannels; co++) {
      const xc = (n * p.inChannels + Math.floor(co / mult)) * inPlane
      const yc = (n * p.outChannels + co) * outPlane
      let t = co * taps
      for (let kd = 0; kd < kD; kd++) {
        const d0 = validLo(outD, sD, kd * dD - pD)
        const d1 = validHi(outD, sD, kd * dD - pD, inD)
        for (let kh = 0; kh < kH; kh++) {
          const h0 = validLo(outH, sH, kh * dH - pH)
          const h1 = validHi(outH, sH, kh * dH - pH, inH)
          for (let kw = 0; kw < kW; kw++, t++) {
            const wv = w[t]
            const offW = kw * dW - pW
            const w0 = validLo(outW, sW, offW)
            const w1 = validHi(outW, sW, offW, inW)
            for (let od = d0; od < d1; od++) {
              const id = od * sD + kd * dD - pD
              for (let oh = h0; oh < h1; oh++) {
                const dst = xc + (id * inH + oh * sH + kh * dH - pH) * inW + offW
                const src = yc + (od * outH + oh) * outW
                for (let ow = w0; ow < w1; ow++) gx[dst + ow * sW] += wv * gy[src + ow]
              }
            }
          }
        }
      }
    }
  }
}

/** gw = the weight gradient for input x and upstream gy, summed over the batch in order. */
export function depthwiseBackwardWeight(gy: FloatArray, x: FloatArray, gw: FloatArray, p: ConvProblem): void {
  const g = p.geometry
  const [inD, inH, inW] = g.inSize
  const [outD, outH, outW] = g.outSize
  const [kD, kH, kW] = g.kernel
  const [sD, sH, sW] = g.stride
  const [dD, dH, dW] = g.dilation
  const [pD, pH, pW] = g.padLo
  const inPlane = inputVolume(g)
  const outPlane = outputVolume(g)
  const taps = kD * kH * kW
  const mult = p.outChannels / p.groups
  for (let n = 0; n < p.batch; n++) {
    for (let co = 0; co < p.outChannels; co++) {
      const xc = (n * p.inChannels + Math.floor(co / mult)) * inPlane
      const yc = (n * p.outChannels + co) * outPlane
      let t = co * taps
      for (let kd = 0; kd < kD; kd++) {
        const d0 = validLo(outD, sD, kd * dD - pD)
        const d1 = validHi(outD, sD, kd * dD - pD, inD)
        for (let kh = 0; kh < kH; kh++) {
          const h0 = validLo(outH, sH, kh * dH - pH)
          const h1 = validHi(outH, sH, kh * dH - pH, inH)
          for (let kw = 0; kw < kW; kw++, t++) {
            const offW = kw * dW - pW
            const w0 = validLo(outW, sW, offW)
            const w1 = validHi(outW, sW, offW, inW)
            let acc = 0
            for (let od = d0; od < d1; od++) {
              const id = od * sD + kd * dD - pD
              for (let oh = h0; oh < h1; oh++) {
                const src = xc + (id * inH + oh * sH + kh * dH - pH) * inW + offW
                const dy = yc + (od * outH + oh) * outW
                for (let ow = w0; ow < w1; ow++) acc += gy[dy + ow] * x[src + ow * sW]
              }
            }
            gw[t] = n === 0 ? acc : gw[t] + acc
          }
        }
      }
    }
  }
}
