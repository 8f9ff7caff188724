/**
 * ONNX export: an inference graph (plus its parameter store) becomes .onnx bytes, opset 17
 * or later, that ONNX Runtime (onnxruntime-node, onnxruntime-web) and other ONNX engines
 * run. Parameters become initializers under their dagrad names (`conv1.weight`), inputs
 * keep their node names, outputs get the names you give them.
 *
 * Op mapping (dagrad -> ONNX), each chosen to compute exactly what dagrad (and PyTorch)
 * computes:
 * - conv{1,2,3}d -> Conv; conv_transpose{1,2,3}d -> ConvTranspose; padding "same" becomes
 *   explicit begin/end pads (the extra one at the end, as PyTorch).
 * - max_pool -> MaxPool. Its `indices` output, when you ask for it as a graph output, is
 *   ONNX's Indices (int64, counted across the whole N*C*spatial tensor) turned into dagrad's
 *   and PyTorch's layout (int32, counted within each (n, c) plane) by Mod(plane size) and
 *   Cast: PyTorch index i <=> ONNX index (n*C + c)*plane + i.
 * - avg_pool -> AveragePool; with count_include_pad and padding, Pad(zeros) + AveragePool
 *   (as torch.onnx.export writes it, so the ceil_mode divisor is PyTorch's).
 * - lp_pool -> Pow, AveragePool, Mul, Pow (dagrad's and PyTorch's formula; ONNX's LpPool
 *   sums |x|^p and differs for odd p).
 * - adaptive pools -> GlobalAveragePool / GlobalMaxPool at output 1, AveragePool / MaxPool
 *   when every input size is a multiple of the output size; other sizes have uneven bins
 *   that no ONNX pool expresses: an error naming the node.
 * - sum/mean -> ReduceSum/ReduceMean; linear -> Gemm (2-d input) or MatMul + Add; batch_norm2d (eval) -> BatchNormalization;
 *   flatten/reshape -> Flatten/Reshape; softmax/log_softmax -> Softmax/LogSoftmax;
 *   dropout -> Identity; activations and pointwise ops -> their ONNX ops (gelu via Erf
 *   below opset 20).
 */
import { AttrError, GraphError, showShape } from "../../errors.ts"
import type { Value } from "../../graph/builder.ts"
import type { Attrs, GraphNode, OutputRef } from "../../graph/types.ts"
import type { Graph } from "../../graph/builder.ts"
import { resolvePadding } from "../../ops/conv/geometry.ts"
import type { DType } from "../../tensor/dtype.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { floatTensorProto, int64TensorProto } from "./attrs.ts"
import { ATTR_TYPE, encodeModelProto, ONNX_DTYPE, type TensorProto } from "./proto.ts"

/** Options of {@link exportOnnx}: the outputs and their parameters, the opset and the batch axis (as torch.onnx.export's `opset_version` and `dynamic_axes`). */
export interface ExportOnnxOptions {
  /** The graph outputs: values keyed by the ONNX output name (`{ y: logits }`), or a list (named y, y1, ...). */
  readonly outputs: { readonly [name: string]: Value } | readonly Value[]
  /** Parameter store with a tensor for every param node the outputs depend on. */
  readonly params: ReadonlyMap<string, Tensor>
  /** ai.onnx opset, 17 to 21 (default 17). */
  readonly opset?: number
  /** Make dim 0 of every input and output symbolic ("batch"), as PyTorch's dynamic_axes. Default true. */
  readonly dynamicBatch?: boolean
  /** ModelProto.graph.name (default "dagrad"). */
  readonly graphName?: string
}

type OnnxAttr = { name: string; type: number; i?: number; f?: number; s?: Uint8Array; t?: TensorProto; ints?: number[]; floats?: number[] }
interface OnnxNode {
  name: string
  opType: string
  input: string[]
  output: string[]
  attribute: OnnxAttr[]
}

const ints = (name: string, v: readonly number[]): OnnxAttr => ({ name, type: ATTR_TYPE.INTS, ints: [...v] })
const int = (name: string, v: number): OnnxAttr => ({ name, type: ATTR_TYPE.INT, i: v })
const float = (name: string, v: number): OnnxAttr => ({ name, type: ATTR_TYPE.FLOAT, f: v })
const str = (name: string, v: string): OnnxAttr => ({ name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(v) })

const ELEM_TYPE: { readonly [D in DType]: number } = { float32: ONNX_DTYPE.FLOAT, float64: ONNX_DTYPE.DOUBLE, int32: ONNX_DTYPE.INT32 }

/** The ONNX tensor name of one output of a dagrad node. */
const tensorName = (ref: OutputRef): string => (ref.output === "y" ? ref.node : `${ref.node}.${ref.output}`)

/** Collects ONNX nodes and initializers while one dagrad node is translated. */
class Emitter {
  readonly nodes: OnnxNode[] = []
  readonly initializers: TensorProto[] = []
  private readonly names = new Set<string>()
  constructor(
    readonly graph: Graph,
    readonly opset: number,
  ) {}

  /** Adds one ONNX node; returns its output names (fresh unless given). */
  add(opType: string, base: string, input: readonly string[], attribute: OnnxAttr[] = [], outputs?: readonly string[], count = 1): string[] {
    const output = outputs !== undefined ? [...outputs] : Array.from({ length: count }, (_, i) => this.fresh(`${base}/${opType}${i === 0 ? "" : `.${i}`}`))
    this.nodes.push({ name: this.fresh(`${base}/${opType}`, true), opType, input: [...input], output, attribute })
    return output
  }

  /**
   * A float constant in the graph dtype, as a Constant node: initializers are kept for
   * parameters (an importer makes them trainable), constants are not parameters.
   */
  floatConst(base: string, values: readonly number[], shape: readonly number[] = []): string {
    const data = this.graph.dtype === "float32" ? Float32Array.from(values) : Float64Array.from(values)
    return this.add("Constant", base, [], [{ name: "value", type: ATTR_TYPE.TENSOR, t: floatTensorProto("", { shape: [...shape], dtype: this.graph.dtype, data }) }])[0]
  }

  /** An INT64 vector constant (pads, shapes) as a Constant node. */
  int64Const(base: string, values: readonly number[]): string {
    return this.add("Constant", base, [], [{ name: "value", type: ATTR_TYPE.TENSOR, t: int64TensorProto("", [values.length], values) }])[0]
  }

  private readonly nodeNames = new Set<string>()

  /** A name not used yet, among tensors or (node = true) among nodes. */
  private fresh(base: string, node = false): string {
    const used = node ? this.nodeNames : this.names
    let name = base
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`
    used.add(name)
    return name
  }
}

interface Step {
  readonly e: Emitter
  readonly node: GraphNode
  readonly attrs: Attrs
  /** ONNX name of input `name` (undefined when the optional input is absent). */
  input(name: string): string
  has(name: string): boolean
  /** Shape of input `name`. */
  shape(name: string): readonly number[]
  /** ONNX name the output `name` must get. */
  out(name?: string): string
  /** Whether output `name` is read by the exported graph. */
  used(name: string): boolean
  fail(expected: string): never
}

type Exporter = (s: Step) => void

const nums = (v: unknown): number[] => v as number[]

function spatialPads(padding: number[]): number[] {
  return [...padding, ...padding]
}

const conv: Exporter = (s) => {
  const w = s.shape("weight")
  if (s.attrs.output_size !== null && s.attrs.output_size !== undefined) s.fail("output_size (a gradient-internal attr; expected a forward convolution)")
  const kernel = w.slice(2)
  const dilation = nums(s.attrs.dilation)
  const padding = s.attrs.padding === "same" ? resolvePadding("same", kernel, dilation) : { lo: nums(s.attrs.padding), hi: nums(s.attrs.padding) }
  const inputs = [s.input("x"), s.input("weight"), ...(s.has("bias") ? [s.input("bias")] : [])]
  s.e.add("Conv", s.node.id, inputs, [ints("kernel_shape", kernel), ints("strides", nums(s.attrs.stride)), ints("pads", [...padding.lo, ...padding.hi]), ints("dilations", dilation), int("group", s.attrs.groups as number)], [s.out()])
}

const convTranspose: Exporter = (s) => {
  const kernel = s.shape("weight").slice(2)
  const inputs = [s.input("x"), s.input("weight"), ...(s.has("bias") ? [s.input("bias")] : [])]
  s.e.add(
    "ConvTranspose",
    s.node.id,
    inputs,
    [
      ints("kernel_shape", kernel),
      ints("strides", nums(s.attrs.stride)),
      ints("pads", spatialPads(nums(s.attrs.padding))),
      ints("dilations", nums(s.attrs.dilation)),
      ints("output_padding", nums(s.attrs.output_padding)),
      int("group", s.attrs.groups as number),
    ],
    [s.out()],
  )
}

function requireBatched(s: Step, name = "x"): void {
  const rank = s.shape(name).length
  if (rank < 3) s.fail(`unbatched input ${showShape(s.shape(name))} (ONNX pools take (N, C, *spatial); add a batch dim)`)
}

const maxPool: Exporter = (s) => {
  requireBatched(s)
  if (s.attrs.nan !== "propagate") s.fail(`nan = "${String(s.attrs.nan)}" (ONNX MaxPool has no NaN policy; expected "propagate")`)
  const window = [ints("kernel_shape", nums(s.attrs.kernel_size)), ints("strides", nums(s.attrs.stride)), ints("pads", spatialPads(nums(s.attrs.padding))), ints("dilations", nums(s.attrs.dilation)), int("ceil_mode", ceilFlag(s, nums(s.attrs.dilation)))]
  if (!s.used("indices")) {
    s.e.add("MaxPool", s.node.id, [s.input("x")], window, [s.out()])
    return
  }
  if (s.attrs.tie !== "first") s.fail(`indices with tie = "${String(s.attrs.tie)}" (ONNX MaxPool reports the first maximum; expected tie "first")`)
  const [, flat] = s.e.add("MaxPool", s.node.id, [s.input("x")], window, [s.out(), `${s.node.id}/MaxPool.indices`])
  // ONNX counts across the whole tensor, (n*C + c)*plane + i; dagrad (and PyTorch) count i within the plane.
  const plane = s.shape("x").slice(2).reduce((a, b) => a * b, 1)
  const [within] = s.e.add("Mod", s.node.id, [flat, s.e.int64Const(s.node.id, [plane])])
  s.e.add("Cast", s.node.id, [within], [int("to", ONNX_DTYPE.INT32)], [s.out("indices")])
}

/**
 * ONNX's ceil_mode flag for a pool. ONNX Runtime's kernels drop a last ceil_mode window
 * that would start in the right padding, as PyTorch does, but ONNX shape inference does
 * not, so the declared and inferred shapes would disagree (a runtime warning, and a
 * static error in any op after it). When ceil_mode adds no window that floor mode lacks,
 * the flag is written as 0: the same windows, and shapes that agree.
 */
function ceilFlag(s: Step, dilation?: readonly number[]): number {
  if (s.attrs.ceil_mode !== true) return 0
  const input = s.shape("x").slice(2)
  const out = s.node.outputs[0].shape.slice(2)
  const kernel = nums(s.attrs.kernel_size)
  const stride = nums(s.attrs.stride)
  const padding = (s.attrs.padding as number[] | undefined) ?? kernel.map(() => 0)
  const floorCount = input.map((L, i) => Math.floor((L + 2 * padding[i] - (dilation?.[i] ?? 1) * (kernel[i] - 1) - 1) / stride[i]) + 1)
  return out.every((n, i) => n === floorCount[i]) ? 0 : 1
}

const avgPool: Exporter = (s) => {
  requireBatched(s)
  const padding = nums(s.attrs.padding)
  const kernel = nums(s.attrs.kernel_size)
  const stride = nums(s.attrs.stride)
  const override = s.attrs.divisor_override as number | null
  const lead = [0, 0]
  if (override !== null) {
    // Sum pooling: zero-pad so that every window PyTorch takes is whole (extra zeros on the
    // right cover a ceil_mode window), average over the full kernel, scale by K/override.
    const out = s.node.outputs[0].shape.slice(2)
    const right = s.shape("x").slice(2).map((L, i) => padding[i] + Math.max(0, (out[i] - 1) * stride[i] + kernel[i] - (L + 2 * padding[i])))
    const [padded] = s.e.add("Pad", s.node.id, [s.input("x"), s.e.int64Const(s.node.id, [...lead, ...padding, ...lead, ...right])], [str("mode", "constant")])
    const [avg] = s.e.add("AveragePool", s.node.id, [padded], [ints("kernel_shape", kernel), ints("strides", stride), ints("pads", spatialPads(padding.map(() => 0))), int("ceil_mode", 0), int("count_include_pad", 1)])
    s.e.add("Mul", s.node.id, [avg, s.e.floatConst(s.node.id, [kernel.reduce((a, b) => a * b, 1) / override])], [], [s.out()])
    return
  }
  const window = [ints("kernel_shape", kernel), ints("strides", stride), int("ceil_mode", ceilFlag(s)), int("count_include_pad", 0)]
  if (s.attrs.count_include_pad === true && padding.some((p) => p > 0)) {
    // As torch.onnx.export: explicit zero padding, so padded zeros count in the divisor
    // while the part of a ceil_mode window past the padding does not (PyTorch's divisor).
    const [padded] = s.e.add("Pad", s.node.id, [s.input("x"), s.e.int64Const(s.node.id, [...lead, ...padding, ...lead, ...padding])], [str("mode", "constant")])
    s.e.add("AveragePool", s.node.id, [padded], [...window, ints("pads", spatialPads(padding.map(() => 0)))], [s.out()])
    return
  }
  s.e.add("AveragePool", s.node.id, [s.input("x")], [...window, ints("pads", spatialPads(padding))], [s.out()])
}

const lpPool: Exporter = (s) => {
  requireBatched(s)
  const p = s.attrs.norm_type as number
  const kernel = nums(s.attrs.kernel_size)
  const K = kernel.reduce((a, b) => a * b, 1)
  const id = s.node.id
  // dagrad/PyTorch: y = (K * avg_pool(x^p))^(1/p), the avg over in-bounds elements.
  const [powered] = s.e.add("Pow", id, [s.input("x"), s.e.floatConst(id, [p])])
  const [avg] = s.e.add("AveragePool", id, [powered], [ints("kernel_shape", kernel), ints("strides", nums(s.attrs.stride)), ints("pads", kernel.flatMap(() => [0, 0])), int("ceil_mode", ceilFlag(s)), int("count_include_pad", 0)])
  const [summed] = s.e.add("Mul", id, [avg, s.e.floatConst(id, [K])])
  s.e.add("Pow", id, [summed, s.e.floatConst(id, [1 / p])], [], [s.out()])
}

function adaptive(kind: "Average" | "Max"): Exporter {
  return (s) => {
    requireBatched(s)
    if (kind === "Max" && s.used("indices")) s.fail("the indices output of adaptive max pooling (expected it unused)")
    const input = s.shape("x").slice(2)
    const wanted = (s.attrs.output_size as (number | null)[]).map((o, i) => o ?? input[i])
    if (wanted.every((o) => o === 1)) {
      s.e.add(`Global${kind}Pool`, s.node.id, [s.input("x")], [], [s.out()])
      return
    }
    const uneven = wanted.findIndex((o, i) => input[i] % o !== 0)
    if (uneven >= 0) {
      s.fail(
        `output_size ${showShape(wanted)} on input ${showShape(s.shape("x"))}: spatial dim ${uneven} of size ${input[uneven]} is not a multiple of ${wanted[uneven]}, so the adaptive bins have unequal sizes, which no ONNX pooling op expresses (expected input sizes that are multiples of output_size, or output_size 1)`,
      )
    }
    const k = input.map((L, i) => L / wanted[i])
    s.e.add(`${kind}Pool`, s.node.id, [s.input("x")], [ints("kernel_shape", k), ints("strides", k), ints("pads", k.flatMap(() => [0, 0]))], [s.out()])
  }
}

const simple = (opType: string, attrs: (s: Step) => OnnxAttr[] = () => []): Exporter => (s) => {
  const inputs = s.node.inputs.a !== undefined ? [s.input("a"), s.input("b")] : [s.input("x")]
  s.e.add(opType, s.node.id, inputs, attrs(s), [s.out()])
}

const withScalar = (opType: string, attr: string): Exporter => (s) => {
  s.e.add(opType, s.node.id, [s.input("x"), s.e.floatConst(s.node.id, [s.attrs[attr] as number])], [], [s.out()])
}

const gelu: Exporter = (s) => {
  const approximate = s.attrs.approximate as string
  if (s.e.opset >= 20) {
    s.e.add("Gelu", s.node.id, [s.input("x")], [str("approximate", approximate)], [s.out()])
    return
  }
  const id = s.node.id
  const x = s.input("x")
  const c = (v: number) => s.e.floatConst(id, [v])
  let inner: string
  if (approximate === "tanh") {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    const [cube] = s.e.add("Mul", id, [x, s.e.add("Mul", id, [x, x])[0]])
    const [sum] = s.e.add("Add", id, [x, s.e.add("Mul", id, [cube, c(0.044715)])[0]])
    ;[inner] = s.e.add("Tanh", id, [s.e.add("Mul", id, [sum, c(Math.sqrt(2 / Math.PI))])[0]])
  } else {
    // 0.5 x (1 + erf(x / sqrt 2))
    ;[inner] = s.e.add("Erf", id, [s.e.add("Mul", id, [x, c(Math.SQRT1_2)])[0]])
  }
  const [half] = s.e.add("Mul", id, [x, c(0.5)])
  s.e.add("Mul", id, [half, s.e.add("Add", id, [inner, c(1)])[0]], [], [s.out()])
}

const softplus: Exporter = (s) => {
  const beta = s.attrs.beta as number
  if (beta === 1) {
    s.e.add("Softplus", s.node.id, [s.input("x")], [], [s.out()])
    return
  }
  const [scaled] = s.e.add("Mul", s.node.id, [s.input("x"), s.e.floatConst(s.node.id, [beta])])
  const [sp] = s.e.add("Softplus", s.node.id, [scaled])
  s.e.add("Div", s.node.id, [sp, s.e.floatConst(s.node.id, [beta])], [], [s.out()])
}

const linear: Exporter = (s) => {
  const x = s.shape("x")
  const bias = s.has("bias") ? [s.input("bias")] : []
  if (x.length === 2) {
    s.e.add("Gemm", s.node.id, [s.input("x"), s.input("weight"), ...bias], [float("alpha", 1), float("beta", 1), int("transB", 1)], [s.out()])
    return
  }
  const [wt] = s.e.add("Transpose", s.node.id, [s.input("weight")], [ints("perm", [1, 0])])
  if (bias.length === 0) s.e.add("MatMul", s.node.id, [s.input("x"), wt], [], [s.out()])
  else s.e.add("Add", s.node.id, [s.e.add("MatMul", s.node.id, [s.input("x"), wt])[0], bias[0]], [], [s.out()])
}

/** Reshape to the node's output shape, keeping dim 0 symbolic (0 = copy) when it is the batch. */
const reshapeTo: Exporter = (s) => {
  const from = s.shape("x")
  const to = [...s.node.outputs[0].shape]
  if (to.length > 0 && from.length > 0 && to[0] === from[0]) to[0] = 0
  s.e.add("Reshape", s.node.id, [s.input("x"), s.e.int64Const(s.node.id, to)], [], [s.out()])
}

const flatten: Exporter = (s) => {
  const rank = s.shape("x").length
  const start = ((s.attrs.start_dim as number) + rank) % rank
  const end = ((s.attrs.end_dim as number) + rank) % rank
  if (start === 1 && end === rank - 1) s.e.add("Flatten", s.node.id, [s.input("x")], [int("axis", 1)], [s.out()])
  else reshapeTo(s)
}

const batchNorm: Exporter = (s) => {
  if (s.attrs.training === true) s.fail("training = true (ONNX export is for inference graphs; build the graph with training: false)")
  const channels = s.shape("x")[1]
  const id = s.node.id
  const stat = (name: string, fill: number) => (s.has(name) ? s.input(name) : s.e.floatConst(id, new Array<number>(channels).fill(fill), [channels]))
  const inputs = [s.input("x"), stat("weight", 1), stat("bias", 0), stat("running_mean", 0), stat("running_var", 1)]
  s.e.add("BatchNormalization", id, inputs, [float("epsilon", s.attrs.eps as number)], [s.out()])
}

/** sum/mean -> ReduceSum/ReduceMean: axes an input from opset 18 (ReduceSum: 13), an attribute before. */
const reduce = (opType: "ReduceSum" | "ReduceMean"): Exporter => (s) => {
  const rank = s.shape("x").length
  const axes = s.attrs.dim === null ? Array.from({ length: rank }, (_, i) => i) : nums(s.attrs.dim).map((d) => (d + rank) % rank)
  const keep = int("keepdims", s.attrs.keepdim === true ? 1 : 0)
  const axesAsInput = opType === "ReduceSum" || s.e.opset >= 18
  if (axesAsInput) s.e.add(opType, s.node.id, [s.input("x"), s.e.int64Const(s.node.id, axes)], [keep], [s.out()])
  else s.e.add(opType, s.node.id, [s.input("x")], [ints("axes", axes), keep], [s.out()])
}

const softmaxLike = (opType: string): Exporter => (s) => s.e.add(opType, s.node.id, [s.input("x")], [int("axis", s.attrs.dim as number)], [s.out()])

const EXPORTERS: { readonly [op: string]: Exporter } = {
  conv1d: conv,
  conv2d: conv,
  conv3d: conv,
  conv_transpose1d: convTranspose,
  conv_transpose2d: convTranspose,
  conv_transpose3d: convTranspose,
  max_pool1d: maxPool,
  max_pool2d: maxPool,
  max_pool3d: maxPool,
  avg_pool1d: avgPool,
  avg_pool2d: avgPool,
  avg_pool3d: avgPool,
  lp_pool1d: lpPool,
  lp_pool2d: lpPool,
  lp_pool3d: lpPool,
  adaptive_avg_pool1d: adaptive("Average"),
  adaptive_avg_pool2d: adaptive("Average"),
  adaptive_avg_pool3d: adaptive("Average"),
  adaptive_max_pool1d: adaptive("Max"),
  adaptive_max_pool2d: adaptive("Max"),
  adaptive_max_pool3d: adaptive("Max"),
  add: simple("Add"),
  sub: simple("Sub"),
  mul: simple("Mul"),
  div: simple("Div"),
  neg: simple("Neg"),
  exp: simple("Exp"),
  log: simple("Log"),
  relu: simple("Relu"),
  sigmoid: simple("Sigmoid"),
  tanh: simple("Tanh"),
  pow: withScalar("Pow", "exponent"),
  scale: withScalar("Mul", "value"),
  add_scalar: withScalar("Add", "value"),
  leaky_relu: simple("LeakyRelu", (s) => [float("alpha", s.attrs.negative_slope as number)]),
  elu: simple("Elu", (s) => [float("alpha", s.attrs.alpha as number)]),
  gelu,
  softplus,
  softmax: softmaxLike("Softmax"),
  log_softmax: softmaxLike("LogSoftmax"),
  linear,
  matmul: simple("MatMul"),
  flatten,
  reshape: reshapeTo,
  transpose: (s) => {
    const rank = s.shape("x").length
    const perm = Array.from({ length: rank }, (_, i) => i)
    const a = ((s.attrs.dim0 as number) + rank) % rank
    const b = ((s.attrs.dim1 as number) + rank) % rank
    ;[perm[a], perm[b]] = [perm[b], perm[a]]
    s.e.add("Transpose", s.node.id, [s.input("x")], [ints("perm", perm)], [s.out()])
  },
  permute: (s) => s.e.add("Transpose", s.node.id, [s.input("x")], [ints("perm", nums(s.attrs.dims))], [s.out()]),
  batch_norm2d: batchNorm,
  dropout: (s) => {
    if (s.attrs.training === true && (s.attrs.p as number) > 0) s.fail("dropout in training mode (ONNX export is for inference graphs, where dropout is the identity; build the graph with training: false)")
    s.e.add("Identity", s.node.id, [s.input("x")], [], [s.out()])
  },
  onnx_erf: simple("Erf"),
  sum: reduce("ReduceSum"),
  mean: reduce("ReduceMean"),
  full: (s) => {
    const shape = nums(s.attrs.shape)
    const size = shape.reduce((a, b) => a * b, 1)
    const data = s.e.graph.dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
    data.fill(s.attrs.value as number)
    s.e.add("Constant", s.node.id, [], [{ name: "value", type: ATTR_TYPE.TENSOR, t: floatTensorProto("", { shape, dtype: s.e.graph.dtype, data }) }], [s.out()])
  },
}

/** The dagrad ops {@link exportOnnx} translates. */
export const EXPORTABLE_OPS: readonly string[] = Object.keys(EXPORTERS)

/**
 * Exports the part of `graph` the outputs depend on as ONNX bytes.
 *
 * @example
 * const m = buildModelGraph(lenet5(), { batchSize: 1 })
 * const bytes = exportOnnx(m.builder.graph, { outputs: { y: m.output }, params })
 */
export function exportOnnx(graph: Graph, options: ExportOnnxOptions): Uint8Array {
  const opset = options.opset ?? 17
  if (!Number.isInteger(opset) || opset < 17 || opset > 21) throw new AttrError(`opset ${opset} (expected 17 to 21)`)
  const named: [string, OutputRef][] = Array.isArray(options.outputs)
    ? (options.outputs as readonly Value[]).map((v, i) => [i === 0 ? "y" : `y${i}`, v.ref])
    : Object.entries(options.outputs as { readonly [name: string]: Value }).map(([n, v]) => [n, v.ref])
  if (named.length === 0) throw new GraphError("no outputs to export (expected outputs: { y: value })")

  // The nodes the outputs need, in graph order; which outputs of theirs are read.
  const needed = new Set<string>()
  const read = new Set<string>(named.map(([, r]) => `${r.node}:${r.output}`))
  const stack = named.map(([, r]) => r.node)
  while (stack.length > 0) {
    const id = stack.pop()!
    if (needed.has(id)) continue
    const node = graph.nodes[id]
    if (node === undefined) throw new GraphError(`output refers to node '${id}', which is not in this graph`)
    needed.add(id)
    for (const [inputName, r] of Object.entries(node.inputs)) {
      if (node.op === "dropout" && inputName === "seed") continue
      read.add(`${r.node}:${r.output}`)
      stack.push(r.node)
    }
  }
  const order = graph.order.filter((id) => needed.has(id))
  const unsupported = order.map((id) => graph.nodes[id]).filter((n) => n.kind === "op" && EXPORTERS[n.op] === undefined)
  if (unsupported.length > 0) {
    throw new GraphError(`${unsupported.length} node(s) have ops with no ONNX export: ${unsupported.map((n) => `'${n.id}' (${n.op})`).join(", ")} (expected only ${EXPORTABLE_OPS.join(", ")}; export an inference graph)`)
  }

  // An op output that is a graph output takes the output's name directly (as PyTorch
  // writes it); a second name for the same value gets an Identity.
  const alias = new Map<string, string>()
  for (const [name, ref] of named) {
    const key = `${ref.node}:${ref.output}`
    if (graph.nodes[ref.node]?.kind === "op" && !alias.has(key)) alias.set(key, name)
  }
  const nameOf = (ref: OutputRef): string => alias.get(`${ref.node}:${ref.output}`) ?? tensorName(ref)
  const e = new Emitter(graph, opset)
  const dynamic = options.dynamicBatch ?? true
  const valueInfo = (name: string, shape: readonly number[], dtype: DType) => ({
    name,
    type: { tensorType: { elemType: ELEM_TYPE[dtype], shape: { dim: shape.map((d, i) => (dynamic && i === 0 ? { dimParam: "batch" } : { dimValue: d })) } } },
  })
  const graphInputs: ReturnType<typeof valueInfo>[] = []
  for (const id of order) {
    const node = graph.nodes[id]
    const spec = node.outputs[0]
    if (node.kind === "input") {
      graphInputs.push(valueInfo(id, spec.shape, spec.dtype))
      continue
    }
    if (node.kind === "param") {
      const t = options.params.get(id)
      if (t === undefined) throw new GraphError(`no tensor for parameter '${id}' in the parameter store (expected ${showShape(spec.shape)})`, { node: id, op: "param" })
      if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
        throw new GraphError(`parameter '${id}' is ${showShape(t.shape)} in the store (expected ${showShape(spec.shape)})`, { node: id, op: "param" })
      }
      e.initializers.push(floatTensorProto(id, t))
      continue
    }
    const step: Step = {
      e,
      node,
      attrs: node.attrs,
      input: (name) => nameOf(node.inputs[name]),
      has: (name) => node.inputs[name] !== undefined,
      shape: (name) => graph.nodes[node.inputs[name].node].outputs.find((o) => o.name === node.inputs[name].output)!.shape,
      out: (name = node.outputs[0].name) => nameOf({ node: id, output: name }),
      used: (name) => read.has(`${id}:${name}`),
      fail: (expected) => {
        throw new AttrError(`cannot export to ONNX: ${expected}`, { node: id, op: node.op })
      },
    }
    EXPORTERS[node.op](step)
  }

  const outputs = named.map(([name, ref]) => {
    const spec = graph.nodes[ref.node].outputs.find((o) => o.name === ref.output)
    if (spec === undefined) throw new GraphError(`node '${ref.node}' has no output '${ref.output}'`)
    const internal = nameOf(ref)
    if (internal !== name) e.add("Identity", `output/${name}`, [internal], [], [name])
    return valueInfo(name, spec.shape, spec.dtype)
  })
  return encodeModelProto({
    irVersion: 8,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "dagrad",
    producerVersion: "0.1.0",
    graph: { name: options.graphName ?? "dagrad", node: e.nodes, initializer: e.initializers, input: graphInputs, output: outputs },
  })
}
