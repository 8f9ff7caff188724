/**
 * Browser-safe bytes in and out: dagrad checkpoints and IDX (MNIST) arrays. Reading and
 * writing files is `dagrad/node`'s job; these work on `Uint8Array`.
 *
 * @module dagrad/io
 */
export { encodeCheckpoint, decodeCheckpoint, checkTensorsMatch, crc32, type Checkpoint, type JsonValue } from "./checkpoint.ts"
export { parseIdx, encodeIdxUint8, idxMagic, type IdxArray, type IdxData, type IdxType, type IdxExpectation } from "./idx.ts"
export {
  encodeSafetensors,
  decodeSafetensors,
  inspectSafetensors,
  SAFETENSORS_DTYPE_BYTES,
  type Safetensors,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsLayout,
  type EncodeSafetensorsOptions,
  type DecodeSafetensorsOptions,
} from "./safetensors.ts"
