/**
 * ConvNetJS 0.3 (Karpathy): HWC volumes, one example at a time, Float64Array storage
 * (it has no float32 mode). Each case loops over the batch inside the timed step, the
 * way ConvNetJS is used: W1 through its Trainer (sgd, batch_size 64, so it updates once
 * per 64 examples with the mean gradient), W2/W3 through a PoolLayer/ConvLayer's
 * forward/backward per example, W4 through Net.forward per example. The numbers are the
 * same float32 values as the other systems', converted to HWC once before timing.
 */
import convnetjs from "convnetjs"
import type { ConvLayer, LayerDef, Net, Trainer, Vol, WeightLayer } from "convnetjs"
import { lenetBatch, lenetParams, linearForHwcInput, nchwToNhwc, oihwToFilters, w2Data, w3Data, type BenchTensor } from "../lib/data.ts"
import type { BenchCase, CaseResult, SystemAdapter, WorkloadId } from "../lib/workloads.ts"

/** Per-example HWC arrays -> one NCHW Float64Array of `shape`. */
function volsToNchw(per: readonly ArrayLike<number>[], shape: readonly number[]): Float64Array {
  const [n, c, h, w] = shape
  const out = new Float64Array(n * c * h * w)
  for (let b = 0; b < n; b++) {
    const v = per[b]
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[((b * c + ch) * h + y) * w + x] = v[(y * w + x) * c + ch]
  }
  return out
}

/** One HWC Vol per example of an NCHW batch. */
function toVols(t: BenchTensor): Vol[] {
  const [n, c, h, w] = t.shape
  const hwc = nchwToNhwc(t)
  const per = c * h * w
  const vols: Vol[] = []
  for (let b = 0; b < n; b++) {
    const v = new convnetjs.Vol(w, h, c, 0)
    v.w.set(hwc.subarray(b * per, (b + 1) * per))
    vols.push(v)
  }
  return vols
}

/** Per-example HWC upstream gradients (Float64Array, ConvNetJS's dw type). */
function toGrads(t: BenchTensor): Float64Array[] {
  return toVols(t).map((v) => v.w)
}

function lenetNet(): Net {
  const defs: LayerDef[] = [
    { type: "input", out_sx: 28, out_sy: 28, out_depth: 1 },
    { type: "conv", sx: 5, filters: 6, stride: 1, pad: 2, activation: "relu" },
    { type: "pool", sx: 2, stride: 2 },
    { type: "conv", sx: 5, filters: 16, stride: 1, pad: 0, activation: "relu" },
    { type: "pool", sx: 2, stride: 2 },
    { type: "fc", num_neurons: 120, activation: "relu" },
    { type: "fc", num_neurons: 84, activation: "relu" },
    { type: "softmax", num_classes: 10 }, // desugars to fc 10 + softmax
  ]
  const net = new convnetjs.Net()
  net.makeLayers(defs)
  // Load the shared weights (conv: HWC filters; fc1: columns permuted to the HWC flatten).
  const p = lenetParams()
  const weighted = net.layers.filter((l): l is WeightLayer => l.layer_type === "conv" || l.layer_type === "fc")
  const names = ["conv1", "conv2", "fc1", "fc2", "fc3"]
  if (weighted.length !== names.length) throw new Error(`convnetjs LeNet has ${weighted.length} weight layers (expected 5)`)
  weighted.forEach((layer, k) => {
    const w = p.get(`${names[k]}.weight`)!
    const b = p.get(`${names[k]}.bias`)!
    let rows: Float32Array[]
    if (w.shape.length === 4) rows = oihwToFilters(w)
    else {
      const [outF, inF] = w.shape
      const data = names[k] === "fc1" ? linearForHwcInput(w, 16, 5, 5) : w.data
      rows = Array.from({ length: outF }, (_, o) => data.subarray(o * inF, (o + 1) * inF))
    }
    if (rows.length !== layer.filters.length || rows[0].length !== layer.filters[0].w.length) {
      throw new Error(`convnetjs ${names[k]}: ${layer.filters.length}x${layer.filters[0].w.length} filters (expected ${rows.length}x${rows[0].length})`)
    }
    rows.forEach((r, o) => layer.filters[o].w.set(r))
    layer.biases.w.set(b.data)
  })
  return net
}

function createCase(workload: WorkloadId): CaseResult {
  const base = { system: "convnetjs" as const, workload, threads: 1 }
  switch (workload) {
    case "W1": {
      const net = lenetNet()
      const { x, labels } = lenetBatch(64)
      const vols = toVols(x)
      const trainer: Trainer = new convnetjs.Trainer(net, { method: "sgd", learning_rate: 0.01, batch_size: 64, momentum: 0, l2_decay: 0 })
      return {
        ...base,
        step() {
          let total = 0
          for (let b = 0; b < vols.length; b++) total += trainer.train(vols[b], labels.data[b]).cost_loss
          return total / vols.length
        },
      } satisfies BenchCase
    }
    case "W4": {
      const net = lenetNet()
      const vols = toVols(lenetBatch(256).x)
      return {
        ...base,
        step() {
          for (let b = 0; b < vols.length; b++) net.forward(vols[b], false)
        },
      } satisfies BenchCase
    }
    case "W2": {
      const d = w2Data()
      const [, c, h, w] = d.x.shape
      const pool = new convnetjs.PoolLayer({ in_sx: w, in_sy: h, in_depth: c, sx: 2, stride: 2 })
      const vols = toVols(d.x)
      const grads = toGrads(d.gy)
      const ys: Float64Array[] = []
      return {
        ...base,
        step() {
          for (let b = 0; b < vols.length; b++) {
            ys[b] = pool.forward(vols[b], true).w
            pool.out_act.dw = grads[b]
            pool.backward() // dx lands in vols[b].dw
          }
        },
        outputs() {
          this.step()
          return { y: volsToNchw(ys, d.gy.shape), dx: volsToNchw(vols.map((v) => v.dw), d.x.shape) }
        },
      } satisfies BenchCase
    }
    case "W3": {
      const d = w3Data()
      const [, c, h, w] = d.x.shape
      const conv: ConvLayer = new convnetjs.ConvLayer({ in_sx: w, in_sy: h, in_depth: c, sx: 3, filters: 64, stride: 1, pad: 1, bias_pref: 0 })
      oihwToFilters(d.weight).forEach((f, o) => conv.filters[o].w.set(f))
      const vols = toVols(d.x)
      const grads = toGrads(d.gy)
      const ys: Float64Array[] = []
      return {
        ...base,
        outputs() {
          this.step()
          const [o, i, kh, kw] = d.weight.shape
          const dw = new Float64Array(o * i * kh * kw)
          conv.filters.forEach((f, oc) => {
            for (let ic = 0; ic < i; ic++)
              for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) dw[((oc * i + ic) * kh + y) * kw + x] = f.dw[(y * kw + x) * i + ic]
          })
          return { y: volsToNchw(ys, d.gy.shape), dx: volsToNchw(vols.map((v) => v.dw), d.x.shape), dw }
        },
        note: "W3: its conv backward also accumulates the bias gradient (it cannot be turned off)",
        step() {
          // dw is the sum over the batch: start each step from zero
          for (const f of conv.filters) f.dw.fill(0)
          for (let b = 0; b < vols.length; b++) {
            ys[b] = conv.forward(vols[b], true).w
            conv.out_act.dw = grads[b]
            conv.backward() // dx in vols[b].dw, dw accumulated in conv.filters[o].dw
          }
        },
      } satisfies BenchCase
    }
    case "GEMM256":
    case "GEMM512":
      return { skip: "ConvNetJS has no matrix-multiply op (fc layers are per-example dot products)" }
  }
}

export const convnetjsAdapter: SystemAdapter = {
  name: "convnetjs",
  version: "convnetjs 0.3.0",
  notes: ["convnetjs is HWC, one example at a time, and computes in float64 (no float32 mode); it loops over the batch inside each step"],
  anchor: true,
  createCase,
}
