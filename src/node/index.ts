/**
 * dagrad/node: the Node-only edges of dagrad. IDX/MNIST files, checkpoints, the training
 * loop behind `npm run train`, progress output, SVG charts and the worker-thread pool.
 * Loading this module also loads the engine's built-in ops.
 *
 * @example
 * import { loadMnist, trainRun, DEFAULT_CONFIG } from "dagrad/node"
 * const r = trainRun({ ...DEFAULT_CONFIG, epochs: 1, limit: 5000 }, { out: "runs/quick" })
 *
 * @module dagrad/node
 */
import "../ops/builtins.ts"

export { parseIdx, readIdxFile, maybeGunzip, encodeIdxUint8, idxMagic, type IdxArray, type IdxData, type IdxType, type IdxExpectation } from "./idx.ts"
export { loadMnist, mnistDataDir, findIdxFile, type Split } from "./mnist.ts"
export {
  batches,
  makeBatch,
  batchCount,
  epochOrder,
  epochSeed,
  normalizationTable,
  takeExamples,
  MNIST_MEAN,
  MNIST_STD,
  type Batch,
  type BatchOptions,
  type ImageDataset,
} from "../data/batches.ts"
export {
  crc32,
  encodeCheckpoint,
  decodeCheckpoint,
  saveCheckpoint,
  loadCheckpoint,
  writeFileAtomic,
  checkTensorsMatch,
  type Checkpoint,
  type JsonValue,
  type AtomicWriteHooks,
} from "./checkpoint.ts"
export { saveTrainingCheckpoint, loadTrainingCheckpoint, type TrainingState, type EpochMetrics, type ModelConfig } from "./training-checkpoint.ts"
export {
  trainRun,
  buildModel,
  learningRate,
  loadData,
  curvesSvg,
  finalReport,
  readMetrics,
  checkpointPathIn,
  DEFAULT_CONFIG,
  type TrainConfig,
  type TrainRunOptions,
  type TrainRunResult,
  type ModelName,
  type Schedule,
  type OptimizerName,
  type ScheduleInterval,
} from "./train.ts"
export { evaluateDataset, formatConfusion, formatProbabilities, asciiImage, softmaxRow, type Evaluation } from "./evaluate.ts"
export { EpochProgress, formatDuration, formatStats, type ProgressStats, type ProgressStream, type ProgressOptions } from "./progress.ts"
export { lineChartSvg, niceTicks, formatTick, escapeXml, type Series, type ChartOptions } from "./plot.ts"
export { startThreadPool, type ThreadPool } from "./threads.ts"
export { parseStudyArgs, studyMain, studyPlots, studyVersions, type StudyCliOptions } from "./study-cli.ts"
