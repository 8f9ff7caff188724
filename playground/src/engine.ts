/**
 * The one place the playground imports the engine from. It points at the TypeScript
 * sources so the playground builds without the package's dist/ build; switching to the
 * published package means changing these lines to `from "dagrad"`, `"dagrad/io"`
 * and `"dagrad/inspect"`.
 */
export * from "../../src/index.ts"
export { heatmapOf, tileHeatmaps } from "../../src/inspect/index.ts"
export { parseIdx, encodeCheckpoint, decodeCheckpoint, checkTensorsMatch, encodeIdxUint8 } from "../../src/io/index.ts"
export type { Checkpoint, JsonValue } from "../../src/io/index.ts"
// The fork-join interface threads plug into, for the browser worker pool (pool.ts).
