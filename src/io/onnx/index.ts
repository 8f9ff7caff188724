/**
 * ONNX import and export (`dagrad/onnx`), on bytes (browser-safe). Needs the optional
 * peer dependency `protobufjs` (the wire format); the rest of dagrad does not.
 *
 * @module dagrad/onnx
 */
export { importOnnx, UnsupportedOnnxError, SUPPORTED_ONNX_OPS, type ImportOnnxOptions, type ImportedOnnx } from "./import.ts"
export { decodeModelProto, encodeModelProto, type ModelProto, type GraphProto, type NodeProto, type TensorProto, type AttributeProto, type ValueInfoProto, type DimensionProto } from "./proto.ts"
export { exportOnnx, EXPORTABLE_OPS, type ExportOnnxOptions } from "./export.ts"
export { onnxErf, onnxErfOp } from "./ops.ts"
