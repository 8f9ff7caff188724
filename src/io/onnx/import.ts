/**
 * ONNX import: an .onnx file (bytes) becomes a dagrad graph plus a parameter store. Float
 * initializers become trainable `param` nodes under their ONNX names (PyTorch exports
 * `conv1.weight`, ...), so the imported graph runs, prints, and fine-tunes with `grad`
 * like any graph built in dagrad. Integer initializers and Constant nodes are read as
 * attributes (Reshape's shape, Pad's pads).
 *
 * Shapes in a dagrad graph are concrete: a symbolic dimension (PyTorch's dynamic batch,
 * `dim_param: "batch"`) takes the size given in `options.dims` or `options.batchSize`.
 *
 * Supported ops (domain ai.onnx, opset 11 to 21): see {@link SUPPORTED_ONNX_OPS}. A model
 * with other ops is rejected before anything is built, with one error listing every
 * unsupported node. A supported op with a configuration dagrad cannot represent (an
 * asymmetric pad, a dilated average pool, ...) is an AttrError naming the node.
 */
import { AttrError, FormatError, ShapeError, showShape } from "../../errors.ts"
import { GraphBuilder, type Value } from "../../graph/builder.ts"
import type { Graph } from "../../graph/builder.ts"
import { elu, gelu, leakyRelu, softplus } from "../../ops/pointwise/index.ts"
import { conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d } from "../../ops/conv/index.ts"
import { add, div, exp, full, log, mul, neg, pow, relu, sigmoid, sub, tanh } from "../../ops/pointwise/index.ts"
import { linear, matmul } from "../../ops/linalg/index.ts"
import { batchNorm2d } from "../../ops/norm/index.ts"
import { avgPool1d, avgPool2d, avgPool3d, globalAvgPool, globalMaxPool, lpPool1d, lpPool2d, lpPool3d, maxPool1d, maxPool1dWithIndices, maxPool2d, maxPool2dWithIndices, maxPool3d, maxPool3dWithIndices } from "../../ops/pool/index.ts"
import { mean, sum } from "../../ops/reduce/index.ts"
import { permute, reshape, transpose } from "../../ops/shape/index.ts"
import { logSoftmax, softmax } from "../../ops/softmax/index.ts"
import type { FloatDType } from "../../tensor/dtype.ts"
import { castTensor, type Tensor } from "../../tensor/tensor.ts"
import { attrFloat, attrInt, attrInts, attrString, attrTensor, nodeLabel, readTensorProto, type OnnxConstant } from "./attrs.ts"
import { onnxErf } from "./ops.ts"
import { decodeModelProto, type NodeProto, type ValueInfoProto } from "./proto.ts"

/** A model whose nodes use ops dagrad cannot import: `nodes` lists every one. */
export class UnsupportedOnnxError extends FormatError {
  /** Each unsupported node as `{ name, opType, domain }`. */
  nodes: readonly { readonly name: string; readonly opType: string; readonly domain: string }[] = []
}

/** Options of {@link importOnnx}: sizes for symbolic dims, input shapes, the graph's float dtype, a file name for errors. */
export interface ImportOnnxOptions {
  /** Size of symbolic dimensions not listed in `dims` (PyTorch's dynamic batch). Default 1. */
  readonly batchSize?: number
  /** Sizes of symbolic dimensions by name (`{ batch: 32 }`). */
  readonly dims?: { readonly [dimParam: string]: number }
  /** Whole shapes of graph inputs by name; they override the file's shapes (which must agree on fixed dims). */
  readonly inputShapes?: { readonly [input: string]: readonly number[] }
  /** Float dtype of the graph; float initializers are cast to it. Default float32. */
  readonly dtype?: FloatDType
  /** Names the source in error messages. */
  readonly file?: string
}

/** An imported model: the graph, its inputs and outputs by ONNX name, and its weights. */
export interface ImportedOnnx {
  readonly builder: GraphBuilder
  readonly graph: Graph
  /** Graph inputs (not initializers) by ONNX name; the node id is the same name. */
  readonly inputs: ReadonlyMap<string, Value>
  /** Graph outputs by ONNX name. */
  readonly outputs: ReadonlyMap<string, Value>
  /** The parameter store: every float initializer used by the graph, by ONNX name. */
  readonly params: Map<string, Tensor>
  /** The param nodes by name (the `wrt` of grad for fine-tuning). */
  readonly paramValues: ReadonlyMap<string, Value>
  /** The ai.onnx opset the model imports. */
  readonly opset: number
}

/**
 * What an ONNX tensor name stands for while importing: a graph value; a constant (an
 * initializer, which becomes a trainable param when read as data, or a Constant node,
 * which becomes a constant `full` node when all its values are equal); a zero Pad waiting
 * for the AveragePool it belongs to; or MaxPool's whole-tensor Indices, waiting for the
 * Mod that turns them into dagrad's per-plane indices.
 */
type Entry =
  | { readonly kind: "value"; readonly value: Value }
  | { readonly kind: "const"; readonly constant: OnnxConstant; readonly initializer: boolean }
  | { readonly kind: "pad"; readonly value: Value; readonly pads: number[]; readonly node: NodeProto }
  | { readonly kind: "flatIndices"; readonly value: Value; readonly plane: number; readonly node: NodeProto }

interface Context {
  readonly builder: GraphBuilder
  readonly opset: number
  readonly node: NodeProto
  /** The float value of input i (initializers become params on first use). */
  value(i: number): Value
  /** The value of input i, or undefined when absent ("" or past the end). */
  optionalValue(i: number): Value | undefined
  /** Integer constant input i (Reshape's shape, Pad's pads). */
  ints(i: number): number[]
  /** The raw entry of input i (to see a pending Pad). */
  entry(i: number): Entry | undefined
  fail(expected: string): never
}

type Handler = (c: Context) => (Value | Entry)[]

const spatialOf = (c: Context, x: Value): 1 | 2 | 3 => {
  const d = x.rank - 2
  if (d !== 1 && d !== 2 && d !== 3) c.fail(`input of shape ${showShape(x.shape)} (expected N, C and 1 to 3 spatial dims)`)
  return d as 1 | 2 | 3
}

/**
 * ONNX pads [b1.., e1..] as one symmetric padding per dim. auto_pad SAME_* is resolved
 * against the input size; a true asymmetry dagrad cannot express is an error naming the node.
 */
function symmetricPads(c: Context, dims: number, inSize: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] | "same" {
  const autoPad = attrString(c.node, "auto_pad", "NOTSET")
  let begin: number[]
  let end: number[]
  if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const total = inSize.map((L, i) => Math.max(0, (Math.ceil(L / strides[i]) - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - L))
    const small = total.map((t) => Math.floor(t / 2))
    begin = autoPad === "SAME_UPPER" ? small : total.map((t, i) => t - small[i])
    end = total.map((t, i) => t - begin[i])
    if (autoPad === "SAME_UPPER" && strides.every((s) => s === 1) && begin.some((b, i) => b !== end[i])) return "same"
  } else if (autoPad === "VALID" || autoPad === "NOTSET") {
    const pads = attrInts(c.node, "pads", new Array<number>(2 * dims).fill(0))!
    if (autoPad === "VALID") pads.fill(0)
    if (pads.length !== 2 * dims) c.fail(`pads ${JSON.stringify(pads)} (expected ${2 * dims} values: begin and end per spatial dim)`)
    begin = pads.slice(0, dims)
    end = pads.slice(dims)
  } else return c.fail(`auto_pad ${JSON.stringify(autoPad)} (expected NOTSET, VALID, SAME_UPPER or SAME_LOWER)`)
  if (begin.some((b, i) => b !== end[i])) {
    c.fail(`asymmetric padding begin ${JSON.stringify(begin)} end ${JSON.stringify(end)} (dagrad pads both sides of a dim equally; only SAME_UPPER at stride 1 maps to padding "same")`)
  }
  return begin
}

function convHandler(c: Context): Value[] {
  const x = c.value(0)
  const w = c.value(1)
  const b = c.optionalValue(2)
  const dims = spatialOf(c, x)
  const kernel = attrInts(c.node, "kernel_shape", w.shape.slice(2))!
  const stride = attrInts(c.node, "strides", new Array<number>(dims).fill(1))!
  const dilation = attrInts(c.node, "dilations", new Array<number>(dims).fill(1))!
  const padding = symmetricPads(c, dims, x.shape.slice(2), kernel, stride, dilation)
  const attrs = { stride, dilation, padding, groups: attrInt(c.node, "group", 1) }
  return [[conv1d, conv2d, conv3d][dims - 1](x, w, b, attrs)]
}

function convTransposeHandler(c: Context): Value[] {
  const x = c.value(0)
  const w = c.value(1)
  const b = c.optionalValue(2)
  const dims = spatialOf(c, x)
  if (attrInts(c.node, "output_shape", undefined) !== undefined) c.fail("output_shape (expected pads and output_padding instead, as torch.onnx.export writes)")
  const kernel = attrInts(c.node, "kernel_shape", w.shape.slice(2))!
  const stride = attrInts(c.node, "strides", new Array<number>(dims).fill(1))!
  const dilation = attrInts(c.node, "dilations", new Array<number>(dims).fill(1))!
  if (attrString(c.node, "auto_pad", "NOTSET") !== "NOTSET") c.fail("auto_pad on ConvTranspose (expected explicit pads)")
  const padding = symmetricPads(c, dims, x.shape.slice(2), kernel, stride, dilation) as number[]
  const attrs = { stride, dilation, padding, groups: attrInt(c.node, "group", 1), output_padding: attrInts(c.node, "output_padding", new Array<number>(dims).fill(0)) }
  return [[convTranspose1d, convTranspose2d, convTranspose3d][dims - 1](x, w, b, attrs)]
}

/** kernel, strides (ONNX default 1, not the kernel), dilations and symmetric pads of a pool node. */
function poolWindow(c: Context, x: Value, dims: number) {
  const kernel = attrInts(c.node, "kernel_shape", undefined)
  if (kernel === undefined || kernel.length !== dims) c.fail(`kernel_shape ${JSON.stringify(kernel)} (expected ${dims} values)`)
  const stride = attrInts(c.node, "strides", new Array<number>(dims).fill(1))!
  const dilation = attrInts(c.node, "dilations", new Array<number>(dims).fill(1))!
  const padding = symmetricPads(c, dims, x.shape.slice(2), kernel!, stride, dilation)
  if (padding === "same") return c.fail("auto_pad SAME_UPPER on a pool with uneven padding (expected padding dagrad can place equally on both sides)")
  return { kernel_size: kernel!, stride, dilation, padding, ceil_mode: attrInt(c.node, "ceil_mode", 0) === 1 }
}

function maxPoolHandler(c: Context): (Value | Entry)[] {
  const x = c.value(0)
  const dims = spatialOf(c, x)
  if (attrInt(c.node, "storage_order", 0) !== 0) c.fail("storage_order 1 (column-major indices; expected 0)")
  const window = poolWindow(c, x, dims)
  if (c.node.output.length < 2 || c.node.output[1] === "") return [[maxPool1d, maxPool2d, maxPool3d][dims - 1](x, window)]
  const { y, indices } = [maxPool1dWithIndices, maxPool2dWithIndices, maxPool3dWithIndices][dims - 1](x, window)
  const plane = x.shape.slice(2).reduce((a, b) => a * b, 1)
  return [y, { kind: "flatIndices", value: indices, plane, node: c.node }]
}

/** Mod(Indices, plane size) after a MaxPool: exactly dagrad's per-plane indices. */
function modHandler(c: Context): Entry[] {
  const e = c.entry(0)
  const divisor = c.ints(1)
  if (e?.kind !== "flatIndices" || divisor.length !== 1 || divisor[0] !== e.plane || attrInt(c.node, "fmod", 0) !== 0) {
    return c.fail("Mod other than of MaxPool Indices by the plane size (expected Mod(Indices, H*W), which gives per-plane indices)")
  }
  return [{ kind: "value", value: e.value }]
}

function castHandler(c: Context): Value[] {
  const to = attrInt(c.node, "to", 0)
  const x = c.value(0)
  const same = (to === 6 && x.dtype === "int32") || (to === 1 && x.dtype === "float32") || (to === 11 && x.dtype === "float64")
  if (!same) c.fail(`Cast of ${x.dtype} to ONNX type ${to} (expected a cast to the type the value already has in dagrad)`)
  return [x]
}

function averagePoolHandler(c: Context): Value[] {
  const entry = c.entry(0)
  const fromPad = entry?.kind === "pad" ? entry : undefined
  const x = fromPad?.value ?? c.value(0)
  const dims = spatialOf(c, x)
  const w = poolWindow(c, x, dims)
  if (w.dilation.some((d) => d !== 1)) c.fail(`dilations ${JSON.stringify(w.dilation)} (dagrad's average pooling, like PyTorch's, has no dilation)`)
  let countIncludePad = attrInt(c.node, "count_include_pad", 0) === 1
  let padding = w.padding
  let ceilMode = w.ceil_mode
  let divisorOverride: number | null = null
  if (fromPad !== undefined) {
    if (padding.some((p) => p !== 0)) c.fail("pads after a Pad node (expected the Pad to carry all padding)")
    const p = fromPad.pads
    const rank = x.rank
    const begin = p.slice(0, rank)
    const end = p.slice(rank)
    const spatialOnly = begin[0] === 0 && begin[1] === 0 && end[0] === 0 && end[1] === 0
    if (countIncludePad && spatialOnly && !ceilMode && end.every((e, i) => e >= begin[i])) {
      // dagrad's own export of sum pooling: zero Pad (extra zeros on the right for a
      // ceil_mode window) + AveragePool over whole kernels = window sum / K.
      divisorOverride = w.kernel_size.reduce((a, b) => a * b, 1)
      ceilMode = end.some((e, i) => e > begin[i])
    } else if (!spatialOnly || begin.some((b, i) => b !== end[i])) {
      c.fail(`a Pad of ${JSON.stringify(p)} before it (expected equal zero padding of the spatial dims only)`)
    }
    // torch.onnx.export writes avg_pool2d(padding=p, count_include_pad=True) as Pad(zeros) + AveragePool(pads=0).
    padding = begin.slice(2)
    countIncludePad = true
  }
  const attrs = { kernel_size: w.kernel_size, stride: w.stride, padding, ceil_mode: ceilMode, count_include_pad: countIncludePad, divisor_override: divisorOverride }
  return [[avgPool1d, avgPool2d, avgPool3d][dims - 1](x, attrs)]
}

function lpPoolHandler(c: Context): Value[] {
  const x = c.value(0)
  const dims = spatialOf(c, x)
  const w = poolWindow(c, x, dims)
  const p = attrInt(c.node, "p", 2)
  if (w.padding.some((q) => q !== 0) || w.dilation.some((d) => d !== 1)) c.fail("pads or dilations on LpPool (dagrad's lp_pool, like PyTorch's, has neither)")
  // ONNX sums |x|^p, PyTorch (and dagrad) x^p: equal for even p only.
  if (p % 2 !== 0 || p <= 0) c.fail(`p = ${p} (ONNX LpPool sums |x|^p and dagrad x^p; they agree for even p only)`)
  return [[lpPool1d, lpPool2d, lpPool3d][dims - 1](x, { norm_type: p, kernel_size: w.kernel_size, stride: w.stride, ceil_mode: w.ceil_mode })]
}

function gemmHandler(c: Context): Value[] {
  if (attrInt(c.node, "transA", 0) !== 0 || attrFloat(c.node, "alpha", 1) !== 1) c.fail("transA or alpha != 1 (expected Gemm as torch.nn.Linear writes it)")
  const a = c.value(0)
  const b = c.value(1)
  const bias = c.optionalValue(2)
  const weight = attrInt(c.node, "transB", 0) === 1 ? b : transpose(b, 0, 1)
  if (bias !== undefined && attrFloat(c.node, "beta", 1) !== 1) c.fail("beta != 1 (expected beta 1)")
  if (bias !== undefined && bias.rank === 1 && bias.shape[0] === weight.shape[0]) return [linear(a, weight, bias)]
  const y = linear(a, weight)
  return [bias === undefined ? y : add(y, bias)]
}

function batchNormHandler(c: Context): Value[] {
  if (attrInt(c.node, "training_mode", 0) !== 0) c.fail("training_mode 1 (expected an inference model; dagrad builds training graphs itself)")
  if (c.node.output.filter((o) => o !== "").length > 1) c.fail("running-statistics outputs (expected the inference form with one output)")
  const x = c.value(0)
  if (x.rank !== 4) c.fail(`input ${showShape(x.shape)} (dagrad's batch_norm2d takes NCHW)`)
  const options = { weight: c.value(1), bias: c.value(2), running_mean: c.value(3), running_var: c.value(4), eps: attrFloat(c.node, "epsilon", 1e-5), training: false }
  return [batchNorm2d(x, options).y]
}

function axisOf(c: Context, x: Value, fallback: number): number {
  const axis = attrInt(c.node, "axis", fallback)
  return axis < 0 ? axis + x.rank : axis
}

function softmaxFamily(f: (x: Value, dim: number) => Value): Handler {
  return (c) => {
    const x = c.value(0)
    const axis = axisOf(c, x, c.opset >= 13 ? -1 : 1)
    // Before opset 13 Softmax flattened x to 2-D at axis: the same as dagrad's only at the last axis.
    if (c.opset < 13 && axis !== x.rank - 1) c.fail(`axis ${axis} at opset ${c.opset} (the pre-13 2-D coercion equals a per-axis softmax only at the last axis)`)
    return [f(x, axis)]
  }
}

function flattenHandler(c: Context): Value[] {
  const x = c.value(0)
  const axis = axisOf(c, x, 1)
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1)
  return [reshape(x, [outer, x.shape.slice(axis).reduce((a, b) => a * b, 1)])]
}

function reshapeHandler(c: Context): Value[] {
  const x = c.value(0)
  const target = c.ints(1)
  const allowZero = attrInt(c.node, "allowzero", 0) === 1
  return [reshape(x, target.map((d, i) => (d === 0 && !allowZero ? x.shape[i] : d)))]
}

function padHandler(c: Context): Entry[] {
  const mode = attrString(c.node, "mode", "constant")
  const x = c.value(0)
  const pads = c.ints(1)
  const constant = c.entry(2)
  const zero = constant === undefined || (constant.kind === "const" && (constant.constant.kind === "int" ? constant.constant.values : Array.from(constant.constant.tensor.data)).every((v) => v === 0))
  if (mode !== "constant" || !zero || c.node.input.length > 3) c.fail(`mode ${mode} (expected a zero constant Pad before an AveragePool)`)
  return [{ kind: "pad", value: x, pads, node: c.node }]
}

/** ReduceSum/ReduceMean: axes from the attribute (older opsets) or a constant input; none = all. */
function reduceHandler(f: (x: Value, dim: number[] | null, keepdim: boolean) => Value): Handler {
  return (c) => {
    const x = c.value(0)
    const axes = c.node.input.length > 1 && c.node.input[1] !== "" ? c.ints(1) : attrInts(c.node, "axes", undefined)
    const keep = attrInt(c.node, "keepdims", 1) === 1
    if ((axes === undefined || axes.length === 0) && attrInt(c.node, "noop_with_empty_axes", 0) === 1) return [x]
    return [f(x, axes === undefined || axes.length === 0 ? null : axes, keep)]
  }
}

const unary = (f: (x: Value) => Value): Handler => (c) => [f(c.value(0))]
const binary = (f: (a: Value, b: Value) => Value): Handler => (c) => [f(c.value(0), c.value(1))]
const passThrough: Handler = (c) => {
  if (c.node.output.length > 1 && c.node.output[1] !== "") c.fail("the mask output (expected Dropout in inference form)")
  return [c.value(0)]
}

const HANDLERS: { readonly [opType: string]: Handler } = {
  Conv: convHandler,
  ConvTranspose: convTransposeHandler,
  MaxPool: maxPoolHandler,
  AveragePool: averagePoolHandler,
  LpPool: lpPoolHandler,
  GlobalAveragePool: unary(globalAvgPool),
  GlobalMaxPool: unary((x) => globalMaxPool(x)),
  Gemm: gemmHandler,
  MatMul: binary(matmul),
  Add: binary(add),
  Sub: binary(sub),
  Mul: binary(mul),
  Div: binary(div),
  Relu: unary(relu),
  Sigmoid: unary(sigmoid),
  Tanh: unary(tanh),
  Exp: unary(exp),
  Log: unary(log),
  Neg: unary(neg),
  LeakyRelu: (c) => [leakyRelu(c.value(0), attrFloat(c.node, "alpha", 0.01))],
  Elu: (c) => [elu(c.value(0), attrFloat(c.node, "alpha", 1))],
  Softplus: unary((x) => softplus(x)),
  Gelu: (c) => {
    const approximate = attrString(c.node, "approximate", "none")
    if (approximate !== "none" && approximate !== "tanh") return c.fail(`approximate ${JSON.stringify(approximate)} (expected none or tanh)`)
    return [gelu(c.value(0), approximate)]
  },
  Softmax: softmaxFamily(softmax),
  LogSoftmax: softmaxFamily(logSoftmax),
  BatchNormalization: batchNormHandler,
  Flatten: flattenHandler,
  Reshape: reshapeHandler,
  Dropout: passThrough,
  Identity: passThrough,
  Pad: padHandler,
  Mod: modHandler,
  ReduceSum: reduceHandler(sum),
  ReduceMean: reduceHandler(mean),
  Cast: castHandler,
  Erf: unary(onnxErf),
  Pow: (c) => {
    const e = c.entry(1)
    const exponent = e?.kind === "const" ? (e.constant.kind === "int" ? e.constant.values : Array.from(e.constant.tensor.data)) : []
    if (exponent.length !== 1) return c.fail("a Pow whose exponent is not a constant scalar (expected x ^ constant)")
    return [pow(c.value(0), exponent[0])]
  },
  Transpose: (c) => {
    const x = c.value(0)
    const perm = attrInts(c.node, "perm", Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i))!
    return [permute(x, perm)]
  },
  Constant: (c) => {
    const t = attrTensor(c.node, "value")
    if (t === undefined) c.fail("a Constant without a 'value' tensor (expected value)")
    return [{ kind: "const", constant: readTensorProto(t!, nodeLabel(c.node)), initializer: false }]
  },
}

/** The ONNX op types {@link importOnnx} reads. */
export const SUPPORTED_ONNX_OPS: readonly string[] = Object.keys(HANDLERS)

function concreteShape(info: ValueInfoProto, options: ImportOnnxOptions, file: string): number[] {
  const dims = info.type?.tensorType?.shape?.dim
  const given = options.inputShapes?.[info.name]
  if (given !== undefined) {
    const clash = dims !== undefined && (dims.length !== given.length || dims.some((d, i) => d.dimValue !== undefined && d.dimValue > 0 && d.dimValue !== given[i]))
    if (clash) throw new ShapeError(`${file}: inputShapes gives '${info.name}' ${showShape(given)}, but the file fixes [${dims!.map((d) => d.dimParam || d.dimValue).join(", ")}] (expected the same rank and fixed sizes)`)
    return [...given]
  }
  if (dims === undefined) throw new FormatError(`${file}: graph input '${info.name}' has no shape, expected a tensor type with a shape (or options.inputShapes)`)
  return dims.map((d) => {
    if (d.dimParam !== undefined && d.dimParam !== "") return options.dims?.[d.dimParam] ?? options.batchSize ?? 1
    if (d.dimValue === undefined || d.dimValue === 0) return options.batchSize ?? 1
    return d.dimValue
  })
}

/**
 * Imports an ONNX model (bytes) as a dagrad graph plus parameter store.
 *
 * @example
 * const m = importOnnx(bytes, { batchSize: 8 })
 * const [y] = compile(m.graph, [m.outputs.get("y")!]).run({ x }, m.params)
 */
export function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): ImportedOnnx {
  const file = options.file ?? "<onnx>"
  const model = decodeModelProto(bytes, file)
  const graphProto = model.graph
  if (graphProto === undefined) throw new FormatError(`${file}: found a ModelProto without a graph, expected an ONNX model`)
  const onnxOpset = model.opsetImport.find((o) => o.domain === "" || o.domain === "ai.onnx")
  if (onnxOpset === undefined) throw new FormatError(`${file}: found no ai.onnx opset import (imports ${JSON.stringify(model.opsetImport)}), expected one`)
  const opset = onnxOpset.version

  const unsupported = graphProto.node.filter((n) => (n.domain !== "" && n.domain !== "ai.onnx") || HANDLERS[n.opType] === undefined)
  if (unsupported.length > 0) {
    const list = unsupported.map((n) => `'${n.name || n.output[0]}' (${n.domain ? n.domain + "." : ""}${n.opType})`).join(", ")
    const err = new UnsupportedOnnxError(`${file}: found ${unsupported.length} node(s) with ops dagrad cannot import: ${list}; expected only ${SUPPORTED_ONNX_OPS.join(", ")}`)
    err.nodes = unsupported.map((n) => ({ name: n.name || n.output[0], opType: n.opType, domain: n.domain }))
    throw err
  }

  const dtype = options.dtype ?? "float32"
  const builder = new GraphBuilder({ dtype })
  const initializers = new Map(graphProto.initializer.map((t) => [t.name, t]))
  const entries = new Map<string, Entry>()
  const params = new Map<string, Tensor>()
  const paramValues = new Map<string, Value>()
  const inputs = new Map<string, Value>()
  for (const info of graphProto.input) {
    if (initializers.has(info.name)) continue
    const elem = info.type?.tensorType?.elemType
    if (elem !== 1 && elem !== 11) throw new FormatError(`${file}: graph input '${info.name}' has element type ${elem}, expected FLOAT or DOUBLE`)
    const v = builder.input(info.name, concreteShape(info, options, file))
    inputs.set(info.name, v)
    entries.set(info.name, { kind: "value", value: v })
  }

  const entryOf = (name: string, where: string): Entry => {
    const e = entries.get(name)
    if (e !== undefined) return e
    const init = initializers.get(name)
    if (init === undefined) throw new FormatError(`${file}: ${where} reads '${name}', which no node, input or initializer produces`)
    const constant = readTensorProto(init, `${file}: initializer`)
    const made: Entry = { kind: "const", constant, initializer: true }
    entries.set(name, made)
    return made
  }
  /** A float constant used as a data input becomes a trainable param named after it. */
  const asValue = (name: string, e: Entry, where: string): Value => {
    if (e.kind === "value") return e.value
    if (e.kind === "pad") throw new AttrError(`${nodeLabel(e.node)}: a Pad read by ${where} (expected a Pad only directly before an AveragePool)`)
    if (e.kind === "flatIndices") throw new AttrError(`${nodeLabel(e.node)}: its Indices read by ${where} (ONNX counts them across the whole tensor, dagrad within each plane; expected them only through Mod(Indices, plane size))`)
    if (e.constant.kind === "int") throw new FormatError(`${file}: ${where} reads integer tensor '${name}' as data, expected a float tensor`)
    const t = e.constant.tensor.dtype === dtype ? e.constant.tensor : castTensor(e.constant.tensor, dtype)
    if (!e.initializer && t.data.every((v) => Object.is(v, t.data[0]))) {
      // A Constant node of one repeated value is a constant of the graph, not a parameter.
      const v = full(builder, t.shape, t.data[0])
      entries.set(name, { kind: "value", value: v })
      return v
    }
    const v = builder.param(name, t.shape)
    params.set(name, t)
    paramValues.set(name, v)
    const made: Entry = { kind: "value", value: v }
    entries.set(name, made)
    return v
  }

  for (const node of graphProto.node) {
    const label = nodeLabel(node)
    const present = (i: number): boolean => i < node.input.length && node.input[i] !== ""
    const context: Context = {
      builder,
      opset,
      node,
      value: (i) => {
        if (!present(i)) throw new FormatError(`${label}: input ${i} is missing, expected it`)
        return asValue(node.input[i], entryOf(node.input[i], label), label)
      },
      optionalValue: (i) => (present(i) ? context.value(i) : undefined),
      ints: (i) => {
        const e = present(i) ? entryOf(node.input[i], label) : undefined
        if (e?.kind !== "const" || e.constant.kind !== "int") throw new AttrError(`${label}: input ${i} '${node.input[i] ?? ""}' is not a constant integer tensor (expected an initializer or Constant; dagrad needs shapes when it builds the graph)`)
        return e.constant.values
      },
      entry: (i) => (present(i) ? entryOf(node.input[i], label) : undefined),
      fail: (expected) => {
        throw new AttrError(`${label}: ${expected}`)
      },
    }
    let results: (Value | Entry)[]
    try {
      results = HANDLERS[node.opType](context)
    } catch (e) {
      if (e instanceof AttrError || e instanceof FormatError || !(e instanceof Error)) throw e
      const Ctor = e instanceof ShapeError ? ShapeError : AttrError
      throw new Ctor(`${label}: ${e.message}`, {}, { cause: e })
    }
    results.forEach((r, i) => {
      if (i < node.output.length && node.output[i] !== "") entries.set(node.output[i], "kind" in r ? r : { kind: "value", value: r })
    })
  }

  const outputs = new Map<string, Value>()
  for (const info of graphProto.output) outputs.set(info.name, asValue(info.name, entryOf(info.name, "graph output"), "graph output"))
  return { builder, graph: builder.graph, inputs, outputs, params, paramValues, opset }
}
