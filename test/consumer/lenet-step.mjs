// LeNet-5 training steps (batch 64) on synthetic data from a seed, written once and run
// twice by run.mjs: in Node against the installed package, and bundled by esbuild for the
// browser in headless Chromium. Both must produce the same losses, bit for bit.
import { SGD, Trainer, initParameters, kernelBackend, lenet5, tensor } from "dagrad"

/** mulberry32: a tiny seeded PRNG, independent of the engine's own. */
function mulberry32(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The IEEE-754 bits of a double, as 16 hex digits. */
export function bitsOf(x) {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  return view.getBigUint64(0).toString(16).padStart(16, "0")
}

export function lenetSteps({ seed = 1, batch = 64, steps = 3 } = {}) {
  const next = mulberry32(seed)
  const x = new Float32Array(batch * 28 * 28)
  for (let i = 0; i < x.length; i++) x[i] = next() * 2 - 1
  const labels = new Int32Array(batch)
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(next() * 10)
  const model = lenet5()
  const trainer = new Trainer({ model, params: initParameters(model, { seed }), optimizer: new SGD({ lr: 0.05, momentum: 0.9 }) })
  const xs = tensor(x, [batch, 1, 28, 28])
  const ys = tensor(labels, [batch], "int32")
  const losses = []
  const ms = []
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now()
    losses.push(trainer.step(xs, ys))
    ms.push(performance.now() - t0)
  }
  return { losses, bits: losses.map(bitsOf), ms, backend: kernelBackend() }
}
