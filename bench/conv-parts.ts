// Micro-timing of the pieces of the LeNet-5 convolutions (im2col, GEMM) per batch of 64.
import { im2col, convGeometry } from "../src/kernels/conv/im2col.ts"
import { gemmSerial } from "../src/kernels/gemm/serial.ts"
const B = 64
/** Minimum over 15 runs after 3 warm-ups (the box is shared: the minimum is the stable figure). */
function time(label: string, f: () => void) {
  for (let i = 0; i < 3; i++) f()
  let best = Infinity
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now()
    f()
    best = Math.min(best, performance.now() - t0)
  }
  console.log(label.padEnd(40), best.toFixed(2), "ms (min)")
}
for (const [cin, cout, H, pad, k] of [[1, 6, 28, 2, 5], [6, 16, 14, 0, 5]]) {
  const out = H + 2 * pad - k + 1
  const g = convGeometry([H, H], [out, out], [k, k], [1, 1], [1, 1], [pad, pad])
  const K = cin * k * k, P = out * out
  const x = new Float32Array(B * cin * H * H).map(() => Math.random())
  const w = new Float32Array(cout * K).map(() => Math.random())
  const col = new Float32Array(K * P)
  const y = new Float32Array(B * cout * P)
  const gw = new Float32Array(cout * K)
  const gx = new Float32Array(K * P)
  time(`cin ${cin} im2col x${B}`, () => { for (let n = 0; n < B; n++) im2col(x, n * cin * H * H, cin, g, col) })
  time(`cin ${cin} fwd gemm ${cout}x${P}x${K} x${B}`, () => { for (let n = 0; n < B; n++) gemmSerial(false, false, cout, P, K, 1, w, K, col, P, 0, y.subarray(n * cout * P), P) })
  time(`cin ${cin} bw gemm ${cout}x${K}x${P} x${B}`, () => { for (let n = 0; n < B; n++) gemmSerial(false, true, cout, K, P, 1, y.subarray(n * cout * P), P, col, P, 1, gw, K) })
  time(`cin ${cin} bi gemm ${K}x${P}x${cout} x${B}`, () => { for (let n = 0; n < B; n++) gemmSerial(true, false, K, P, cout, 1, w, K, y.subarray(n * cout * P), P, 0, gx, P) })
}
{
  const { directForward } = await import("../src/kernels/conv/direct.ts")
  const g = convGeometry([28, 28], [28, 28], [5, 5], [1, 1], [1, 1], [2, 2])
  const p = { batch: B, inChannels: 1, outChannels: 6, groups: 1, geometry: g }
  const x = new Float32Array(B * 28 * 28).map(() => Math.random())
  const w = new Float32Array(150).map(() => Math.random())
  const bias = new Float32Array(6)
  const y = new Float32Array(B * 6 * 784)
  time("conv1 directForward", () => directForward(x, w, bias, y, p))
}
{
  const { im2colPacked } = await import("../src/kernels/conv/direct.ts")
  const { prepackedB } = await import("../src/kernels/gemm/serial.ts")
  const g = convGeometry([14, 14], [10, 10], [5, 5], [1, 1], [1, 1], [0, 0])
  const x = new Float32Array(B * 6 * 196).map(() => Math.random())
  const col = new Float32Array(150 * 100)
  time("conv2 im2col", () => { for (let n = 0; n < B; n++) im2col(x, n * 6 * 196, 6, g, col) })
  time("conv2 im2colPacked", () => { for (let n = 0; n < B; n++) im2colPacked(x, n * 6 * 196, 6, { batch: B, inChannels: 6, outChannels: 16, groups: 1, geometry: g }, prepackedB()) })
}
{
  const { convForwardSerial } = await import("../src/kernels/conv/serial.ts")
  const g = convGeometry([14, 14], [10, 10], [5, 5], [1, 1], [1, 1], [0, 0])
  const p = { batch: B, inChannels: 6, outChannels: 16, groups: 1, geometry: g }
  const x = new Float32Array(B * 6 * 196).map(() => Math.random())
  const w = new Float32Array(16 * 150).map(() => Math.random())
  const bias = new Float32Array(16)
  const y = new Float32Array(B * 16 * 100)
  const col = new Float32Array(150 * 100)
  time("conv2 forward (current)", () => convForwardSerial(x, w, bias, y, p, gemmSerial))
  time("conv2 forward im2col+gemm", () => { for (let n = 0; n < B; n++) { im2col(x, n * 6 * 196, 6, g, col); gemmSerial(false, false, 16, 100, 150, 1, w, 150, col, 100, 1, y.subarray(n * 1600), 100) } })
}
{
  const { convBackwardWeightSerial } = await import("../src/kernels/conv/serial.ts")
  const g = convGeometry([14, 14], [10, 10], [5, 5], [1, 1], [1, 1], [0, 0])
  const p = { batch: B, inChannels: 6, outChannels: 16, groups: 1, geometry: g }
  const x = new Float32Array(B * 6 * 196).map(() => Math.random())
  const gy = new Float32Array(B * 16 * 100).map(() => Math.random())
  const gw = new Float32Array(16 * 150)
  const col = new Float32Array(150 * 100)
  time("conv2 backward weight (current)", () => convBackwardWeightSerial(gy, x, gw, p, gemmSerial, 0, 16))
  time("conv2 backward weight im2col+gemm", () => { for (let n = 0; n < B; n++) { im2col(x, n * 6 * 196, 6, g, col); gemmSerial(false, true, 16, 150, 100, 1, gy.subarray(n * 1600), 100, col, 100, n === 0 ? 0 : 1, gw, 150) } })
}
{
  const { convBackwardInputSerial } = await import("../src/kernels/conv/serial.ts")
  const g = convGeometry([14, 14], [10, 10], [5, 5], [1, 1], [1, 1], [0, 0])
  const p = { batch: B, inChannels: 6, outChannels: 16, groups: 1, geometry: g }
  const w = new Float32Array(16 * 150).map(() => Math.random())
  const gy = new Float32Array(B * 16 * 100).map(() => Math.random())
  const gx = new Float32Array(B * 6 * 196)
  time("conv2 backward input (scatter GEMM)", () => convBackwardInputSerial(gy, w, gx, p, gemmSerial))
}
