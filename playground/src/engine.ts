/**
 * The one place the playground imports the engine from. It points at the TypeScript
 * sources so the playground builds without the package's dist/ build; switching to the
 * published package means changing these three lines to `from "dagrad"`, `"dagrad/io"`
 * and `"dagrad/inspect"`.
 */
export * from "../../src/index.ts"
export { parseIdx, encodeCheckpoint, decodeCheckpoint, checkTensorsMatch, encodeIdxUint8 } from "../../src/io/index.ts"
export type { Checkpoint, JsonValue } from "../../src/io/index.ts"
// The kernels' fork-join interface, for the browser worker pool (pool.ts). Not in the
// package's public surface yet; imported by path like the Node pool does.
export { parallelBackend, runSerially, setParallelBackend, taskFunction, type ParallelBackend, type TaskArgs } from "../../src/kernels/parallel.ts"
