import { describe, expect, it } from "vitest"
import { GraphBuilder, add, compile, conv1d, conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, gradValues, linear, mul, sum, tensor, type ConvOptions, type ConvTransposeOptions, type Tensor } from "../../src/index.ts"
import { checkGradients } from "../../src/testing/gradcheck.ts"
import { setKernelBackend } from "../../src/kernels/backend.ts"
import { Random } from "../../src/tensor/random.ts"
import { sizeOf } from "../../src/tensor/shape.ts"
import { describeGoldenFiles, forward, onThreads, randomTensor, standInBackend } from "../helpers.ts"

const t = (values: number[], shape: number[]) => tensor(values, shape, "float64")

describe("convolution by hand", () => {
  it("conv1d is a cross-correlation (no kernel flip)", () => {
    const y = forward(({ x, w }) => conv1d(x, w), { x: t([1, 2, 3, 4], [1, 1, 4]), w: t([1, -1], [1, 1, 2]) })
    expect(Array.from(y.data)).toEqual([-1, -1, -1])
  })

  it("conv2d sums 2x2 windows, with bias, stride and padding", () => {
    const x = t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3])
    const w = t([1, 1, 1, 1], [1, 1, 2, 2])
    expect(Array.from(forward(({ x, w }) => conv2d(x, w), { x, w }).data)).toEqual([12, 16, 24, 28])
    const b = t([100], [1])
    // padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1)
    const y = forward(({ x, w, b }) => conv2d(x, w, b, { stride: 2, padding: 1 }), { x, w, b })
    expect(y.shape).toEqual([1, 1, 2, 2])
    expect(Array.from(y.data)).toEqual([101, 105, 111, 128])
  })

  it("'same' padding with an even kernel pads one more on the right", () => {
    // k = 2: total padding 1, 0 on the left and 1 on the right
    const y = forward(({ x, w }) => conv1d(x, w, undefined, { padding: "same" }), { x: t([1, 2, 3], [1, 1, 3]), w: t([1, 10], [1, 1, 2]) })
    expect(Array.from(y.data)).toEqual([21, 32, 3])
  })

  it("dilation spreads the kernel taps", () => {
    const y = forward(({ x, w }) => conv1d(x, w, undefined, { dilation: 2 }), { x: t([1, 2, 3, 4, 5], [1, 1, 5]), w: t([1, 1], [1, 1, 2]) })
    expect(Array.from(y.data)).toEqual([4, 6, 8])
  })

  it("groups convolve channel groups separately", () => {
    // 2 channels, groups 2, kernel 1: each output channel scales its own input channel
    const y = forward(({ x, w }) => conv1d(x, w, undefined, { groups: 2 }), { x: t([1, 2, 3, 4], [1, 2, 2]), w: t([10, 100], [2, 1, 1]) })
    expect(Array.from(y.data)).toEqual([10, 20, 300, 400])
  })

  it("groups over several samples give each group's own convolution, bit for bit (packed GEMM path)", () => {
    // 3 samples, 8 -> 8 channels in 2 groups, 3x3 on 12x12: K = 36 and 100 positions per
    // (sample, group) product, the im2col-into-packed-panels GEMM path, which keeps the
    // packed weights from one sample to the next only when there is one group
    const N = 3
    const x = randomTensor([N, 8, 12, 12], 31)
    const w = randomTensor([8, 4, 3, 3], 32)
    for (const dtype of ["float32", "float64"] as const) {
      const grouped = forward(({ x, w }) => conv2d(x, w, undefined, { groups: 2 }), { x, w }, dtype)
      for (let g = 0; g < 2; g++) {
        const xs = Array.from({ length: N }, (_, n) => Array.from(x.data.subarray((n * 8 + 4 * g) * 144, (n * 8 + 4 * g + 4) * 144))).flat()
        const ws = Array.from(w.data.subarray(g * 4 * 36, (g + 1) * 4 * 36))
        const alone = forward(({ x, w }) => conv2d(x, w), { x: t(xs, [N, 4, 12, 12]), w: t(ws, [4, 4, 3, 3]) }, dtype)
        for (let n = 0; n < N; n++) {
          const got = Array.from(grouped.data.subarray((n * 8 + 4 * g) * 100, (n * 8 + 4 * g + 4) * 100))
          expect(got).toEqual(Array.from(alone.data.subarray(n * 4 * 100, (n + 1) * 4 * 100)))
        }
      }
    }
  })

  it("conv3d with a 1x1x1 kernel mixes channels only", () => {
    const y = forward(({ x, w }) => conv3d(x, w), { x: t([1, 2, 3, 4], [1, 2, 1, 1, 2]), w: t([1, 1], [1, 2, 1, 1, 1]) })
    expect(Array.from(y.data)).toEqual([4, 6])
  })

  it("conv3d whose padding is wider than the output (a tap reads only padding)", () => {
    // kernel 1x1x5, pad 2 along W on a 1-wide input: only the centre tap meets the input,
    // y = 30 x[channel 0] + 3 x[channel 1] (im2col once wrote past the row here)
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    const y = forward(({ x, w }) => conv3d(x, w, undefined, { padding: [0, 0, 2] }), {
      x: t(x, [1, 2, 2, 3, 1]),
      w: t([10, 20, 30, 40, 50, 1, 2, 3, 4, 5], [1, 2, 1, 1, 5]),
    })
    expect(Array.from(y.data)).toEqual([51, 84, 117, 150, 183, 216])
  })

  it("conv_transpose scatters each input times the kernel", () => {
    const x = t([1, 2], [1, 1, 2])
    const w = t([1, 10], [1, 1, 2])
    expect(Array.from(forward(({ x, w }) => convTranspose1d(x, w), { x, w }).data)).toEqual([1, 12, 20])
    expect(Array.from(forward(({ x, w }) => convTranspose1d(x, w, undefined, { stride: 2 }), { x, w }).data)).toEqual([1, 10, 2, 20])
    // output_padding adds a position that only the bias reaches
    const y = forward(({ x, w, b }) => convTranspose1d(x, w, b, { stride: 2, output_padding: 1 }), { x, w, b: t([0.5], [1]) })
    expect(Array.from(y.data)).toEqual([1.5, 10.5, 2.5, 20.5, 0.5])
  })
})

describe("shape errors", () => {
  const g = new GraphBuilder()
  const x = g.input("x", [2, 4, 5, 5])
  it("rejects channel mismatch, bad groups, kernels larger than the input, zero stride", () => {
    expect(() => conv2d(x, g.input("w1", [3, 3, 3, 3]))).toThrow(/expected C_in = weight.shape\[1\] \* groups/)
    expect(() => conv2d(x, g.input("w2", [3, 2, 3, 3]), undefined, { groups: 2 })).toThrow(/not divisible by groups = 2/)
    expect(() => conv2d(x, g.input("w3", [4, 4, 3, 3]), undefined, { groups: 3 })).toThrow(/not divisible by groups = 3/)
    expect(() => conv2d(x, g.input("w4", [4, 4, 7, 3]))).toThrow(/exceeds the padded input size 5/)
    expect(() => conv2d(x, g.input("w5", [4, 4, 3, 3]), undefined, { stride: 0 })).toThrow(/stride = 0 \(expected an integer >= 1/)
    expect(() => conv2d(x, g.input("w6", [4, 4, 3, 3]), undefined, { dilation: [1, 0] })).toThrow(/dilation/)
    expect(() => conv2d(x, g.input("w7", [4, 4, 3, 3]), undefined, { padding: "same", stride: 2 })).toThrow(/expected stride 1 for "same" padding/)
    expect(() => conv2d(x, g.input("w8", [4, 4, 3]))).toThrow(/expected rank 4/)
    // rank 3 is an unbatched (C, H, W) input, as in PyTorch; rank 2 is an error
    expect(() => conv2d(g.input("x2", [5, 5]), g.input("w9", [4, 4, 3, 3]))).toThrow(/expected rank 4: \(N, C, H, W\)/)
    expect(() => conv2d(x, g.input("w10", [6, 4, 3, 3]), g.input("b", [4]))).toThrow(/bias \[4\] \(expected \[6\]/)
    expect(() => conv2d(x, g.input("w11", [6, 4, 3, 3]), undefined, { bias: true })).toThrow(/no bias input/)
    expect(() => conv2d(x, g.input("w12", [6, 4, 3, 3]), undefined, { padding: [1, 2, 3] })).toThrow(/padding/)
    expect(() => conv2d(x, g.input("w13", [6, 4, 3, 3]), undefined, { padding: -1 })).toThrow(/padding/)
  })
  it("rejects bad conv_transpose attrs and shapes", () => {
    const w = g.input("wt", [4, 2, 3, 3])
    expect(() => convTranspose2d(x, w, undefined, { stride: 2, output_padding: 2 })).toThrow(/output_padding < max\(stride, dilation\)/)
    expect(() => convTranspose2d(x, g.input("wt2", [3, 2, 3, 3]))).toThrow(/expected C_in = weight.shape\[0\]/)
    expect(() => convTranspose2d(x, w, undefined, { padding: 9 })).toThrow(/padding is too large/)
    expect(convTranspose2d(x, w, undefined, { stride: 2, padding: 1, output_padding: 1 }).shape).toEqual([2, 2, 10, 10])
    expect(convTranspose2d(x, g.input("wt3", [4, 3, 3, 3]), undefined, { groups: 2 }).shape).toEqual([2, 6, 7, 7])
  })
  it("infers output shapes like PyTorch", () => {
    expect(conv2d(x, g.input("s1", [8, 4, 3, 2]), undefined, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }).shape).toEqual([2, 8, 3, 3])
    expect(conv2d(x, g.input("s2", [8, 4, 4, 4]), undefined, { padding: "same" }).shape).toEqual([2, 8, 5, 5])
    expect(conv2d(x, g.input("s3", [8, 4, 2, 2]), undefined, { padding: "valid", stride: 3 }).shape).toEqual([2, 8, 2, 2])
  })
})

type Case = { name: string; x: number[]; w: number[]; bias: boolean; attrs: ConvOptions }
const convCases: Case[] = [
  { name: "conv1d stride 2 dilation 2 padding 1", x: [2, 2, 9], w: [3, 2, 3], bias: true, attrs: { stride: 2, padding: 1, dilation: 2 } },
  { name: "conv1d same, even kernel", x: [1, 2, 7], w: [2, 2, 4], bias: false, attrs: { padding: "same" } },
  { name: "conv2d groups 2 stride (2,1)", x: [2, 4, 5, 6], w: [6, 2, 3, 2], bias: true, attrs: { groups: 2, stride: [2, 1], padding: [1, 0] } },
  { name: "conv2d depthwise dilation 2", x: [1, 3, 6, 6], w: [3, 1, 3, 3], bias: true, attrs: { groups: 3, dilation: 2, padding: 2 } },
  { name: "conv2d same with dilation (asymmetric)", x: [1, 2, 5, 6], w: [2, 2, 4, 3], bias: true, attrs: { padding: "same", dilation: [1, 2] } },
  { name: "conv2d 1x1", x: [2, 3, 3, 3], w: [4, 3, 1, 1], bias: true, attrs: {} },
  { name: "conv2d padding larger than kernel", x: [1, 1, 3, 3], w: [2, 1, 2, 2], bias: false, attrs: { padding: 3, stride: 2 } },
  { name: "conv3d groups 2 stride", x: [1, 2, 4, 3, 5], w: [4, 1, 2, 2, 3], bias: true, attrs: { groups: 2, stride: [2, 1, 2], padding: [0, 1, 1] } },
]

const convFor = (rank: number) => (rank === 3 ? conv1d : rank === 4 ? conv2d : conv3d)

describe("convolution gradients (central differences, float64)", () => {
  convCases.forEach((c, i) => {
    it(c.name, () => {
      const inputs: { [k: string]: Tensor } = { x: randomTensor(c.x, 10 + i), w: randomTensor(c.w, 20 + i) }
      if (c.bias) inputs.b = randomTensor([c.w[0]], 30 + i)
      const r = checkGradients(({ x, w, b }) => convFor(c.x.length)(x, w, b, c.attrs), inputs)
      expect(r.ok, r.summary).toBe(true)
    })
  })

  const transposeCases: { name: string; x: number[]; w: number[]; attrs: ConvTransposeOptions }[] = [
    { name: "stride 2 padding 1 output_padding 1", x: [2, 2, 3, 4], w: [2, 3, 3, 3], attrs: { stride: 2, padding: 1, output_padding: 1 } },
    { name: "groups 2 stride (2, 3)", x: [1, 4, 3, 3], w: [4, 2, 3, 2], attrs: { groups: 2, stride: [2, 3], output_padding: [1, 2] } },
    { name: "dilation 2 padding 2", x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { dilation: 2, padding: 2 } },
    { name: "output_padding >= stride (dilation 3 > stride 1)", x: [1, 2, 3, 4], w: [2, 1, 2, 2], attrs: { dilation: 3, output_padding: 2, padding: 1 } },
  ]
  transposeCases.forEach((c, i) => {
    it(`conv_transpose2d ${c.name}`, () => {
      const inputs = { x: randomTensor(c.x, 40 + i), w: randomTensor(c.w, 50 + i), b: randomTensor([c.w[1] * (c.attrs.groups ?? 1)], 60 + i) }
      const r = checkGradients(({ x, w, b }) => convTranspose2d(x, w, b, c.attrs), inputs)
      expect(r.ok, r.summary).toBe(true)
    })
  })
})

describe("conv_transpose1d and conv_transpose3d gradients", () => {
  it("conv_transpose1d stride 3, output_padding 1, groups 2", () => {
    const inputs = { x: randomTensor([2, 4, 3], 100), w: randomTensor([4, 1, 3], 101), b: randomTensor([2], 102) }
    const r = checkGradients(({ x, w, b }) => convTranspose1d(x, w, b, { stride: 3, output_padding: 1, groups: 2, padding: 1 }), inputs)
    expect(r.ok, r.summary).toBe(true)
  })
  it("conv_transpose3d stride (1, 2, 2), dilation 2", () => {
    const inputs = { x: randomTensor([1, 2, 2, 2, 3], 103), w: randomTensor([2, 2, 2, 2, 2], 104) }
    const r = checkGradients(({ x, w }) => convTranspose3d(x, w, undefined, { stride: [1, 2, 2], dilation: 2 }), inputs)
    expect(r.ok, r.summary).toBe(true)
  })
})

describe("double backward (finite differences of the first gradient)", () => {
  it("conv2d: d/dx and d/dw of the input and weight gradients", () => {
    const attrs: ConvOptions = { stride: 2, padding: 1, dilation: [1, 2], groups: 2 }
    const inputs = { x: randomTensor([1, 4, 5, 6], 70), w: randomTensor([2, 2, 2, 3], 71), u: randomTensor([1, 2, 3, 2], 72) }
    for (const which of [0, 1]) {
      const r = checkGradients(
        ({ x, w, u }, b) => {
          const loss = sum(mul(conv2d(x, w, undefined, attrs), u))
          return gradValues(b, loss, [x, w])[which]
        },
        inputs,
        { wrt: ["x", "w", "u"] },
      )
      expect(r.ok, r.summary).toBe(true)
    }
  })

  it("conv2d: the gradient of a nonlinear loss (x appears twice)", () => {
    const inputs = { x: randomTensor([1, 2, 4, 4], 73), w: randomTensor([3, 2, 3, 3], 74) }
    const r = checkGradients(
      ({ x, w }, b) => {
        const y = conv2d(x, w, undefined, { padding: "same" })
        return gradValues(b, sum(mul(y, y)), [w])[0]
      },
      inputs,
    )
    expect(r.ok, r.summary).toBe(true)
  })

  it("conv_transpose2d with output_padding", () => {
    const attrs: ConvTransposeOptions = { stride: 2, padding: 1, output_padding: 1 }
    const inputs = { x: randomTensor([1, 2, 3, 3], 75), w: randomTensor([2, 2, 3, 3], 76) }
    const r = checkGradients(
      ({ x, w }, b) => {
        const y = convTranspose2d(x, w, undefined, attrs)
        return gradValues(b, sum(mul(y, y)), [x])[0]
      },
      inputs,
    )
    expect(r.ok, r.summary).toBe(true)
  })

  it("the backward ops differentiate directly", () => {
    const a = { stride: 2, padding: 1 }
    const gy = randomTensor([2, 3, 3, 3], 77)
    const w = randomTensor([3, 2, 3, 3], 78)
    const x = randomTensor([2, 2, 6, 5], 79)
    const bi = checkGradients(({ gy, w }) => conv2dBackwardInput(gy, w, { ...a, input_size: [6, 5] }), { gy, w })
    expect(bi.ok, bi.summary).toBe(true)
    const bw = checkGradients(({ gy, x }) => conv2dBackwardWeight(gy, x, { ...a, kernel_size: [3, 3] }), { gy, x })
    expect(bw.ok, bw.summary).toBe(true)
  })
})

describe("float32 agrees with float64", () => {
  it("conv2d forward and gradients", () => {
    const inputs = { x: randomTensor([2, 3, 9, 8], 80), w: randomTensor([5, 3, 3, 3], 81), b: randomTensor([5], 82) }
    const run = (dtype: "float32" | "float64") => {
      const g = new GraphBuilder({ dtype })
      const v = { x: g.input("x", inputs.x.shape), w: g.input("w", inputs.w.shape), b: g.input("b", inputs.b.shape) }
      const y = conv2d(v.x, v.w, v.b, { stride: [1, 2], padding: 1 })
      const grads = gradValues(g, sum(mul(y, y)), [v.x, v.w, v.b])
      const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tensor(t.data, t.shape, dtype)]))
      return compile(g.graph, [y, ...grads]).run(feeds)
    }
    const r64 = run("float64")
    const r32 = run("float32")
    r64.forEach((t64, i) => {
      for (let j = 0; j < t64.data.length; j++) expect(Math.abs(r32[i].data[j] - t64.data[j])).toBeLessThan(1e-4 * Math.max(1, Math.abs(t64.data[j])))
    })
  })
})

describeGoldenFiles(["conv.json", "conv_transpose.json"])

describe("on a parallel backend", () => {
  it("splitting by samples (and GEMM rows) gives the same bits as one thread", async () => {
    const { setParallelBackend } = await import("../../src/exec/parallel.ts")
    // A stand-in backend: 3 "threads", parts run in reverse order on this thread, and only
    // its own allocations count as shared (so feeds and parameters get staged).
    const tasks: string[] = []
    const backend = standInBackend({ threads: 3, ownShared: true, onRun: (task) => tasks.push(task) })
    // 4 * 16 * 32 * 32 * 36 multiply-adds: above the threshold for splitting the batch
    const inputs = { x: randomTensor([4, 8, 32, 32], 90), w: randomTensor([16, 4, 3, 3], 91), b: randomTensor([16], 92) }
    const run = (dtype: "float32" | "float64") => {
      const g = new GraphBuilder({ dtype })
      const v = { x: g.input("x", inputs.x.shape), w: g.input("w", inputs.w.shape), b: g.input("b", inputs.b.shape) }
      const y = conv2d(v.x, v.w, v.b, { groups: 2, padding: 1 })
      const grads = gradValues(g, sum(mul(y, y)), [v.x, v.w, v.b])
      const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tensor(t.data, t.shape, dtype)]))
      return compile(g.graph, [y, ...grads]).run(feeds)
    }
    for (const dtype of ["float32", "float64"] as const) {
      const serial = run(dtype)
      setParallelBackend(backend)
      let parallel: Tensor[]
      try {
        parallel = run(dtype)
      } finally {
        setParallelBackend(undefined)
      }
      serial.forEach((t, i) => expect(Array.from(parallel[i].data)).toEqual(Array.from(t.data)))
    }
    expect(tasks).toContain("conv.forward")
    expect(tasks).toContain("conv.backward_input")
    expect(tasks).toContain("conv.backward_weight")
  })

  it("splits the weight gradient by samples (direct kernel) or by taps (each thread builds only its columns), with the same bits", async () => {
    const { setParallelBackend } = await import("../../src/exec/parallel.ts")
    const tasks: { task: string; ranges: number[][] }[] = []
    const backend = standInBackend({ onRun: (task, parts) => tasks.push({ task, ranges: parts.map((p) => p.numbers.slice(-2)) }) })
    // LeNet-5's layers: the first (6 output channels, 25 taps; direct kernel, each thread
    // sums its samples' blocks, added up in order after) and the second (16 channels, 150
    // taps; col^T packed per tap range for the GEMM, split at whole 3-column panels: 75 + 75)
    // On the WASM kernels (float32) both split by taps at whole 8-column panels.
    const layers = [
      { x: [32, 1, 28, 28], w: [6, 1, 5, 5], padding: 2, backend: "js", task: "conv.backward_weight_samples", ranges: [[0, 16], [16, 32]] },
      { x: [32, 6, 14, 14], w: [16, 6, 5, 5], padding: 0, backend: "js", task: "conv.backward_weight_taps", ranges: [[0, 75], [75, 150]] },
      { x: [32, 1, 28, 28], w: [6, 1, 5, 5], padding: 2, backend: "wasm", task: "conv.backward_weight_taps", ranges: [[0, 16], [16, 25]] },
      { x: [32, 6, 14, 14], w: [16, 6, 5, 5], padding: 0, backend: "wasm", task: "conv.backward_weight_taps", ranges: [[0, 72], [72, 150]] },
    ] as const
    for (const layer of layers) {
      setKernelBackend(layer.backend)
      tasks.length = 0
      const inputs = { x: randomTensor(layer.x, 93), w: randomTensor(layer.w, 94) }
      const run = (dtype: "float32" | "float64") => {
        const g = new GraphBuilder({ dtype })
        const v = { x: g.input("x", inputs.x.shape), w: g.input("w", inputs.w.shape) }
        const y = conv2d(v.x, v.w, undefined, { padding: layer.padding })
        const [gw] = gradValues(g, sum(mul(y, y)), [v.w])
        const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tensor(t.data, t.shape, dtype)]))
        return compile(g.graph, [gw]).run(feeds)[0]
      }
      for (const dtype of ["float32", "float64"] as const) {
        const serial = run(dtype)
        setParallelBackend(backend)
        let parallel: Tensor
        try {
          parallel = run(dtype)
        } finally {
          setParallelBackend(undefined)
        }
        expect(Array.from(parallel.data)).toEqual(Array.from(serial.data))
      }
      const split = tasks.find((t) => t.task === layer.task)
      expect(split?.ranges).toEqual(layer.ranges)
      setKernelBackend(undefined)
    }
  })
})

describe("on real worker threads", () => {
  it("conv2d and linear, forward and gradients, give the same bits with 2 threads", async () => {
    const rng = new Random(3)
    const make = (s: number[]) => tensor(Array.from({ length: sizeOf(s) }, () => rng.uniform(-1, 1)), s, "float32")
    // Big enough that conv splits samples/channels and linear's GEMM splits rows; x1/w1 is
    // a LeNet-5 first layer (direct kernels, weight gradient summed by samples).
    const inputs = {
      x: make([8, 8, 24, 24]),
      w: make([16, 8, 3, 3]),
      b: make([16]),
      h: make([64, 300]),
      v: make([200, 300]),
      x1: make([24, 1, 28, 28]),
      w1: make([6, 1, 5, 5]),
    }
    const run = () => {
      const g = new GraphBuilder({ dtype: "float32" })
      const t = Object.fromEntries(Object.entries(inputs).map(([k, x]) => [k, g.input(k, x.shape)]))
      const y = conv2d(t.x, t.w, t.b, { padding: 1 })
      const z = linear(t.h, t.v)
      const y1 = conv2d(t.x1, t.w1, undefined, { padding: 2 })
      const grads = gradValues(g, add(add(sum(mul(y, y)), sum(mul(z, z))), sum(mul(y1, y1))), [t.x, t.w, t.b, t.h, t.v, t.w1])
      return compile(g.graph, [y, z, y1, ...grads]).run(inputs)
    }
    const serial = run()
    const parallel = await onThreads(2, run)
    serial.forEach((t, i) => expect(Array.from(parallel[i].data)).toEqual(Array.from(t.data)))
  }, 60000)
})
