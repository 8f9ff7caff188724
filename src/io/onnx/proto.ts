/**
 * The ONNX protobuf schema (the subset of onnx/onnx.proto dagrad reads and writes, with the
 * field numbers of the official schema) as a protobufjs reflection root, plus plain
 * TypeScript shapes of the decoded messages. protobufjs does the wire format; nothing here
 * encodes protobuf by hand. Fields dagrad does not model (sparse tensors, training info,
 * functions, sequence/map types) are skipped on read as unknown fields, as protobuf allows.
 */
import protobuf from "protobufjs/light.js"
import { FormatError } from "../../errors.ts"

const repeated = (type: string, id: number) => ({ rule: "repeated", type, id })
const field = (type: string, id: number) => ({ type, id })

const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: field("string", 1),
            refAttrName: field("string", 21),
            docString: field("string", 13),
            type: field("int32", 20),
            f: field("float", 2),
            i: field("int64", 3),
            s: field("bytes", 4),
            t: field("TensorProto", 5),
            g: field("GraphProto", 6),
            floats: repeated("float", 7),
            ints: repeated("int64", 8),
            strings: repeated("bytes", 9),
            tensors: repeated("TensorProto", 10),
            graphs: repeated("GraphProto", 11),
          },
        },
        ValueInfoProto: { fields: { name: field("string", 1), type: field("TypeProto", 2), docString: field("string", 3) } },
        NodeProto: {
          fields: {
            input: repeated("string", 1),
            output: repeated("string", 2),
            name: field("string", 3),
            opType: field("string", 4),
            domain: field("string", 7),
            attribute: repeated("AttributeProto", 5),
            docString: field("string", 6),
          },
        },
        ModelProto: {
          fields: {
            irVersion: field("int64", 1),
            opsetImport: repeated("OperatorSetIdProto", 8),
            producerName: field("string", 2),
            producerVersion: field("string", 3),
            domain: field("string", 4),
            modelVersion: field("int64", 5),
            docString: field("string", 6),
            graph: field("GraphProto", 7),
            metadataProps: repeated("StringStringEntryProto", 14),
          },
        },
        StringStringEntryProto: { fields: { key: field("string", 1), value: field("string", 2) } },
        GraphProto: {
          fields: {
            node: repeated("NodeProto", 1),
            name: field("string", 2),
            initializer: repeated("TensorProto", 5),
            docString: field("string", 10),
            input: repeated("ValueInfoProto", 11),
            output: repeated("ValueInfoProto", 12),
            valueInfo: repeated("ValueInfoProto", 13),
          },
        },
        TensorProto: {
          fields: {
            dims: repeated("int64", 1),
            dataType: field("int32", 2),
            floatData: { ...repeated("float", 4), options: { packed: true } },
            int32Data: { ...repeated("int32", 5), options: { packed: true } },
            stringData: repeated("bytes", 6),
            int64Data: { ...repeated("int64", 7), options: { packed: true } },
            name: field("string", 8),
            docString: field("string", 12),
            rawData: field("bytes", 9),
            externalData: repeated("StringStringEntryProto", 13),
            dataLocation: field("int32", 14),
            doubleData: { ...repeated("double", 10), options: { packed: true } },
            uint64Data: { ...repeated("uint64", 11), options: { packed: true } },
          },
        },
        TensorShapeProto: {
          fields: { dim: repeated("Dimension", 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dimValue", "dimParam"] } },
              fields: { dimValue: field("int64", 1), dimParam: field("string", 2), denotation: field("string", 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensorType"] } },
          fields: { tensorType: field("Tensor", 1), denotation: field("string", 6) },
          nested: { Tensor: { fields: { elemType: field("int32", 1), shape: field("TensorShapeProto", 2) } } },
        },
        OperatorSetIdProto: { fields: { domain: field("string", 1), version: field("int64", 2) } },
      },
    },
  },
}

const root = protobuf.Root.fromJSON(SCHEMA)
const ModelProtoType = root.lookupType("onnx.ModelProto")

/** TensorProto.DataType values dagrad maps (the others are rejected by name). */
export const ONNX_DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16 } as const

/** AttributeProto.AttributeType values. */
export const ATTR_TYPE = { UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const

/** A decoded TensorProto (int64 fields as numbers). */
export interface TensorProto {
  dims: number[]
  dataType: number
  floatData: number[]
  int32Data: number[]
  int64Data: number[]
  doubleData: number[]
  name: string
  rawData?: Uint8Array
  dataLocation?: number
  externalData?: { key: string; value: string }[]
}

/** A decoded AttributeProto. */
export interface AttributeProto {
  name: string
  type: number
  f?: number
  i?: number
  s?: Uint8Array
  t?: TensorProto
  floats: number[]
  ints: number[]
  strings: Uint8Array[]
}

/** A decoded NodeProto. */
export interface NodeProto {
  input: string[]
  output: string[]
  name: string
  opType: string
  domain: string
  attribute: AttributeProto[]
}

/** A decoded TensorShapeProto.Dimension: a number, a symbolic name, or unknown. */
export interface DimensionProto {
  dimValue?: number
  dimParam?: string
}

/** A decoded ValueInfoProto (only tensor types are modelled). */
export interface ValueInfoProto {
  name: string
  type?: { tensorType?: { elemType: number; shape?: { dim: DimensionProto[] } } }
}

/** A decoded GraphProto. */
export interface GraphProto {
  node: NodeProto[]
  name: string
  initializer: TensorProto[]
  input: ValueInfoProto[]
  output: ValueInfoProto[]
  valueInfo: ValueInfoProto[]
}

/** A decoded ModelProto. */
export interface ModelProto {
  irVersion: number
  opsetImport: { domain: string; version: number }[]
  producerName: string
  producerVersion: string
  graph?: GraphProto
  metadataProps: { key: string; value: string }[]
}

/**
 * Decodes ONNX model bytes into plain objects (int64 as numbers, bytes as Uint8Array,
 * repeated fields as arrays even when empty). A file that is not a protobuf ModelProto
 * is a FormatError.
 *
 * @example
 * decodeModelProto(bytes).graph!.node.map((n) => n.opType) // ["Conv", "Relu", ...]
 */
export function decodeModelProto(bytes: Uint8Array, file = "<onnx>"): ModelProto {
  let message: protobuf.Message
  try {
    message = ModelProtoType.decode(bytes)
  } catch (e) {
    throw new FormatError(`${file}: found bytes that do not decode as an ONNX ModelProto (${e instanceof Error ? e.message : String(e)}), expected an .onnx file`)
  }
  return ModelProtoType.toObject(message, { longs: Number, bytes: Uint8Array, arrays: true, defaults: true }) as ModelProto
}

/**
 * Encodes a ModelProto-shaped object to bytes (protobufjs checks field types).
 *
 * @example
 * const bytes = encodeModelProto({ irVersion: 8, opsetImport: [{ domain: "", version: 17 }], graph, ... })
 */
export function encodeModelProto(model: object): Uint8Array {
  const problem = ModelProtoType.verify(model)
  if (problem !== null) throw new FormatError(`the ONNX model to write is malformed: ${problem}`)
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish()
}
