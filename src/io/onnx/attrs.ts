/**
 * Reading and writing ONNX node attributes and tensors: typed getters that name the node
 * when an attribute has the wrong type, and TensorProto <-> dagrad Tensor conversion.
 */
import { FormatError } from "../../errors.ts"
import type { Tensor } from "../../tensor/tensor.ts"
import { ATTR_TYPE, ONNX_DTYPE, type AttributeProto, type NodeProto, type TensorProto } from "./proto.ts"

/** "node '/conv1/Conv' (Conv)": how messages name an ONNX node. */
export function nodeLabel(node: NodeProto): string {
  return `ONNX node '${node.name || node.output[0] || "?"}' (${node.opType})`
}

function find(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name)
}

function wrongType(node: NodeProto, a: AttributeProto, expected: string): never {
  throw new FormatError(`${nodeLabel(node)}: attribute ${a.name} has type ${a.type}, expected ${expected}`)
}

/** An INT attribute (int64 as number), or `fallback` when absent. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.INT) wrongType(node, a, "INT")
  return a.i ?? 0
}

/** An INTS attribute, or `fallback` when absent. */
export function attrInts(node: NodeProto, name: string, fallback: readonly number[] | undefined): number[] | undefined {
  const a = find(node, name)
  if (a === undefined) return fallback === undefined ? undefined : [...fallback]
  if (a.type !== ATTR_TYPE.INTS) wrongType(node, a, "INTS")
  return [...a.ints]
}

/** A FLOAT attribute, or `fallback` when absent. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.FLOAT) wrongType(node, a, "FLOAT")
  return a.f ?? 0
}

/** A STRING attribute (UTF-8), or `fallback` when absent. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = find(node, name)
  if (a === undefined) return fallback
  if (a.type !== ATTR_TYPE.STRING) wrongType(node, a, "STRING")
  return new TextDecoder().decode(a.s ?? new Uint8Array(0))
}

/** A TENSOR attribute, or undefined when absent. */
export function attrTensor(node: NodeProto, name: string): TensorProto | undefined {
  const a = find(node, name)
  if (a === undefined) return undefined
  if (a.type !== ATTR_TYPE.TENSOR) wrongType(node, a, "TENSOR")
  return a.t
}

/** A constant read from a TensorProto: float data as a Tensor, integers as plain numbers. */
export type OnnxConstant = { readonly kind: "float"; readonly tensor: Tensor } | { readonly kind: "int"; readonly shape: number[]; readonly values: number[] }

/**
 * Reads a TensorProto (raw_data or the typed fields). FLOAT and DOUBLE become tensors of
 * the given float dtype; INT32/INT64 become numbers (shapes, pads, axes); anything else is
 * a FormatError naming the tensor.
 */
export function readTensorProto(t: TensorProto, where: string): OnnxConstant {
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new FormatError(`${where}: tensor '${t.name}' keeps its data in an external file, expected the data inside the .onnx file (save without external data)`)
  }
  const shape = t.dims.map(Number)
  const size = shape.reduce((a, b) => a * b, 1)
  const raw = t.rawData !== undefined && t.rawData.length > 0 ? t.rawData : undefined
  const view = raw === undefined ? undefined : new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const need = (bytes: number): void => {
    if (raw !== undefined && raw.length !== size * bytes) throw new FormatError(`${where}: tensor '${t.name}' has ${raw.length} raw bytes, expected ${size} elements x ${bytes} bytes for shape [${shape.join(", ")}]`)
  }
  const fromList = (list: readonly number[], field: string): number[] => {
    if (list.length !== size) throw new FormatError(`${where}: tensor '${t.name}' has ${list.length} values in ${field}, expected ${size} for shape [${shape.join(", ")}]`)
    return [...list]
  }
  switch (t.dataType) {
    case ONNX_DTYPE.FLOAT: {
      need(4)
      const data = new Float32Array(size)
      if (raw !== undefined) new Uint8Array(data.buffer).set(raw)
      else data.set(fromList(t.floatData, "float_data"))
      return { kind: "float", tensor: { shape, dtype: "float32", data } }
    }
    case ONNX_DTYPE.DOUBLE: {
      need(8)
      const data = new Float64Array(size)
      if (raw !== undefined) new Uint8Array(data.buffer).set(raw)
      else data.set(fromList(t.doubleData, "double_data"))
      return { kind: "float", tensor: { shape, dtype: "float64", data } }
    }
    case ONNX_DTYPE.INT64: {
      need(8)
      const values = view !== undefined ? Array.from({ length: size }, (_, i) => Number(view.getBigInt64(8 * i, true))) : fromList(t.int64Data, "int64_data")
      return { kind: "int", shape, values }
    }
    case ONNX_DTYPE.INT32: {
      need(4)
      const values = view !== undefined ? Array.from({ length: size }, (_, i) => view.getInt32(4 * i, true)) : fromList(t.int32Data, "int32_data")
      return { kind: "int", shape, values }
    }
    default: {
      const name = Object.entries(ONNX_DTYPE).find(([, v]) => v === t.dataType)?.[0] ?? `data_type ${t.dataType}`
      throw new FormatError(`${where}: tensor '${t.name}' is ${name}, expected FLOAT, DOUBLE, INT32 or INT64`)
    }
  }
}

/** A float tensor as a TensorProto with raw little-endian data (typed arrays are LE on supported hosts). */
export function floatTensorProto(name: string, t: Tensor): TensorProto {
  if (t.dtype === "int32") return int64TensorProto(name, t.shape, Array.from(t.data))
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice()
  return { name, dims: [...t.shape], dataType: t.dtype === "float32" ? ONNX_DTYPE.FLOAT : ONNX_DTYPE.DOUBLE, rawData: bytes, floatData: [], int32Data: [], int64Data: [], doubleData: [] }
}

/** An INT64 tensor (shapes, pads, axes) as a TensorProto. */
export function int64TensorProto(name: string, shape: readonly number[], values: readonly number[]): TensorProto {
  const bytes = new Uint8Array(values.length * 8)
  const view = new DataView(bytes.buffer)
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true))
  return { name, dims: [...shape], dataType: ONNX_DTYPE.INT64, rawData: bytes, floatData: [], int32Data: [], int64Data: [], doubleData: [] }
}
