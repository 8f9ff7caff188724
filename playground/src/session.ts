/**
 * A training run of the playground, independent of where it runs: the Web Worker drives
 * one, the Node benchmark (playground/scripts/bench-node.ts) and the unit tests drive
 * another with the same code. It holds the model, the parameter store, the optimizer and
 * the position in the data, and answers the page's questions (evaluation, filters,
 * activations, routing, a drawn digit). No DOM, no worker globals.
 */
import {
  AttrError,
  Conv2d,
  Flatten,
  FormatError,
  Linear,
  MaxPool2d,
  ReLU,
  SGD,
  Sequential,
  Trainer,
  buildModelGraph,
  checkTensorsMatch,
  compile,
  decodeCheckpoint,
  encodeCheckpoint,
  epochOrder,
  heatmapOf,
  heatmapSvg,
  initParameters,
  inspectRouting,
  lenet5,
  makeBatch,
  namedParameters,
  normalizationTable,
  parallelBackend,
  routingSummary,
  tileHeatmaps,
  type ImageDataset,
  type JsonValue,
  type Tensor,
  type Value,
} from "./engine.ts"
import { argmax, confusionMatrix, softmax } from "./metrics.ts"
import { parseConfig, type ModelName, type Tie, type TrainConfig } from "./config.ts"

export { DEFAULT_CONFIG, MODEL_NAMES, OPTIMIZER_NAMES, TIE_POLICIES, parseConfig, type ModelName, type OptimizerName, type Tie, type TrainConfig } from "./config.ts"

/**
 * The page's models. `small-cnn` is a second, lighter CNN from the nn layers:
 *
 *     conv1 8@3x3 pad 1 -> relu -> pool 2 -> conv2 16@3x3 pad 1 -> relu -> pool 2 -> flatten -> fc1 10
 *
 * (9,098 parameters on 1x28x28). Both put their max pools under the given tie policy.
 */
export function buildModel(name: ModelName, tie: Tie): Sequential {
  if (name === "lenet5") return lenet5({ poolTie: tie })
  return new Sequential(
    {
      conv1: new Conv2d(1, 8, 3, { padding: 1 }),
      relu1: new ReLU(),
      pool1: new MaxPool2d(2, { tie }),
      conv2: new Conv2d(8, 16, 3, { padding: 1 }),
      relu2: new ReLU(),
      pool2: new MaxPool2d(2, { tie }),
      flatten: new Flatten(),
      fc1: new Linear(16 * 7 * 7, 10),
    },
    { inputShape: [1, 28, 28] },
  )
}

function makeOptimizer(config: TrainConfig): SGD {
  if (config.optimizer === "sgd") return new SGD({ lr: config.lr })
  return new SGD({ lr: config.lr, momentum: 0.9, nesterov: config.optimizer === "nesterov" })
}

/** The result of one pass over the test subset. */
export interface Evaluation {
  readonly step: number
  /** Percent correct. */
  readonly accuracy: number
  /** 10 x 10, row = true class, column = predicted. */
  readonly confusion: Int32Array
}

/** One layer's output for one digit (batch dim dropped). */
export interface LayerActivation {
  readonly name: string
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** The routing view of one max-pool layer for one digit. */
export interface RoutingView {
  readonly layer: string
  readonly tie: Tie
  /** A standalone SVG: gradient mass per input element, every channel tiled. */
  readonly svg: string
  readonly windows: number
  readonly tiedWindows: number
  readonly maxWins: number
  readonly neverChosen: number
  readonly elements: number
}

/** Where a run is: steps done, the epoch and the position in the epoch's order. */
export interface Position {
  readonly step: number
  readonly epoch: number
  readonly cursor: number
}

const KIND = "dagrad-playground"
const PIXELS = 28 * 28

/**
 * One training run. `trainSteps` is synchronous; the worker calls it in slices so it can
 * answer messages in between.
 *
 * @example
 * const s = new TrainingSession(DEFAULT_CONFIG, train, test)
 * s.trainSteps(10) // the 10 losses
 * s.evaluate().accuracy
 */
export class TrainingSession {
  config: TrainConfig
  readonly params: Map<string, Tensor>
  private readonly optimizer: SGD
  private trainer: Trainer
  private order: Int32Array
  private position: Position
  private readonly table = normalizationTable()

  constructor(
    config: TrainConfig,
    readonly train: ImageDataset,
    readonly test: ImageDataset,
    restored?: { params: Map<string, Tensor>; position: Position; optimizer?: ReturnType<SGD["exportState"]> },
  ) {
    this.config = parseConfig(config)
    const model = buildModel(this.config.model, this.config.tie)
    this.params = shareParams(restored?.params ?? initParameters(model, { seed: this.config.seed }))
    this.optimizer = makeOptimizer(this.config)
    if (restored?.optimizer !== undefined) this.optimizer.importState(restored.optimizer)
    this.trainer = new Trainer({ model, params: this.params, optimizer: this.optimizer })
    this.position = restored?.position ?? { step: 0, epoch: 0, cursor: 0 }
    this.order = epochOrder(train.count, this.config.seed, this.position.epoch)
  }

  get step(): number {
    return this.position.step
  }

  get epoch(): number {
    return this.position.epoch
  }

  /** Runs `n` training steps; returns their losses. */
  trainSteps(n: number): number[] {
    const losses: number[] = []
    const bs = this.config.batchSize
    for (let i = 0; i < n; i++) {
      let { step, epoch, cursor } = this.position
      // Full batches only: a fixed batch size keeps one compiled plan and a steady speed.
      if (cursor + bs > this.train.count) {
        epoch++
        cursor = 0
        this.order = epochOrder(this.train.count, this.config.seed, epoch)
      }
      const batch = makeBatch(this.train, this.order, cursor, cursor + bs, "float32", this.table, sharedAllocator())
      losses.push(this.trainer.step(batch.x, batch.labels))
      this.position = { step: step + 1, epoch, cursor: cursor + bs }
    }
    return losses
  }

  /** Changes the learning rate from the next step on. */
  setLearningRate(lr: number): void {
    this.config = parseConfig({ ...this.config, lr })
    this.optimizer.lr = lr
  }

  /** Switches the max pools' tie policy; parameters and optimizer state carry over. */
  setTie(tie: Tie): void {
    this.config = parseConfig({ ...this.config, tie })
    this.trainer = new Trainer({ model: buildModel(this.config.model, tie), params: this.params, optimizer: this.optimizer })
  }

  /** Accuracy and confusion matrix on the whole test subset (inference mode). */
  evaluate(batchSize = 500): Evaluation {
    const predicted = new Int32Array(this.test.count)
    const order = Int32Array.from({ length: this.test.count }, (_, i) => i)
    for (let start = 0; start < this.test.count; start += batchSize) {
      const end = Math.min(start + batchSize, this.test.count)
      const { x } = makeBatch(this.test, order, start, end, "float32", this.table, sharedAllocator())
      const logits = this.trainer.predict(x)
      for (let i = 0; i < end - start; i++) predicted[start + i] = argmax(logits.data.subarray(i * 10, i * 10 + 10))
    }
    const confusion = confusionMatrix(predicted, this.test.labels, 10)
    let correct = 0
    for (let c = 0; c < 10; c++) correct += confusion[c * 10 + c]
    return { step: this.step, accuracy: (100 * correct) / this.test.count, confusion }
  }

  /** Class probabilities of one 28x28 image with pixels in [0, 1] (a drawn digit). */
  classify(pixels: Float32Array): Float64Array {
    if (pixels.length !== PIXELS) throw new AttrError(`classify: ${pixels.length} pixels (expected 28 x 28 = ${PIXELS})`)
    const x = new Float32Array(PIXELS)
    for (let i = 0; i < PIXELS; i++) x[i] = this.table[Math.max(0, Math.min(255, Math.round(pixels[i] * 255)))]
    const logits = this.trainer.predict({ shape: [1, 1, 28, 28], dtype: "float32", data: x })
    return softmax(logits.data)
  }

  /** The first conv layer's weights [out, in, kh, kw]. */
  firstFilters(): Tensor {
    return this.params.get("conv1.weight")!
  }

  /** Test digit `index` as a normalised [1, 1, 28, 28] tensor. */
  testDigit(index: number): Tensor {
    if (!Number.isInteger(index) || index < 0 || index >= this.test.count) throw new AttrError(`test digit ${index} (expected 0 <= index < ${this.test.count})`)
    return makeBatch(this.test, [index], 0, 1, "float32", this.table).x
  }

  /** Every layer's output for test digit `index`, in model order. */
  activations(index: number): LayerActivation[] {
    const values: [string, Value][] = []
    const g = buildModelGraph(this.trainer.model, { batchSize: 1, observer: (path, _m, out) => values.push([path, out]) })
    const outs = compile(g.builder.graph, values.map(([, v]) => v.ref)).run({ x: this.testDigit(index) }, this.params)
    return values.map(([name, v], k) => ({ name, shape: v.shape.slice(1), data: Float32Array.from(outs[k].data) }))
  }

  /** The routing of each max pool for test digit `index` under tie policy `tie`. */
  routing(index: number, tie: Tie): RoutingView[] {
    const g = buildModelGraph(buildModel(this.config.model, tie), { batchSize: 1 })
    const maps = inspectRouting(g.builder.graph, { x: this.testDigit(index) }, this.params)
    return maps.map((m, k) => {
      const channels = m.inputShape[1]
      const tiles = Array.from({ length: channels }, (_, c) => heatmapOf(m.mass ?? m.winCounts, [0, c]))
      const s = routingSummary(m)
      const layer = `pool${k + 1}`
      return {
        layer,
        tie,
        svg: heatmapSvg(tileHeatmaps(tiles, Math.min(channels, 8)), { cell: k === 0 ? 4 : 8, labels: false, title: `${layer}: gradient per input (tie "${tie}")` }),
        windows: m.windows ?? 0,
        tiedWindows: m.tiedWindows ?? 0,
        maxWins: s.maxWins,
        neverChosen: s.neverChosen,
        elements: s.elements,
      }
    })
  }

  /** The run as dagrad checkpoint bytes: `param/*`, `momentum/*` tensors, config and position in meta. */
  toCheckpoint(extra: { [key: string]: JsonValue } = {}): Uint8Array {
    const tensors = new Map<string, Tensor>()
    for (const [name, t] of this.params) tensors.set(`param/${name}`, t)
    const { buffers, ...optimizer } = this.optimizer.exportState()
    for (const [name, b] of Object.entries(buffers)) tensors.set(`momentum/${name}`, { shape: [...b.shape], dtype: "float32", data: Float32Array.from(b.data) })
    const meta = { kind: KIND, version: 1, config: { ...this.config }, position: { ...this.position }, optimizer, ...extra } satisfies JsonValue
    return encodeCheckpoint({ tensors, meta })
  }

  /**
   * A run restored from {@link toCheckpoint} bytes: the same parameters, optimizer state
   * and position. A checkpoint of another kind or model is a FormatError naming `file`.
   */
  static fromCheckpoint(bytes: Uint8Array, train: ImageDataset, test: ImageDataset, file = "<checkpoint>"): { session: TrainingSession; meta: { [key: string]: JsonValue } } {
    const ck = decodeCheckpoint(bytes, file)
    const meta = ck.meta
    if (typeof meta !== "object" || meta === null || Array.isArray(meta) || (meta as { kind?: unknown }).kind !== KIND) {
      throw new FormatError(`${file}: found a checkpoint of kind ${JSON.stringify((meta as { kind?: unknown } | null)?.kind)}, expected "${KIND}" (saved by the playground)`)
    }
    const m = meta as { [key: string]: JsonValue }
    const config = parseConfig(m.config)
    const position = m.position as unknown as Position
    if (![position?.step, position?.epoch, position?.cursor].every((v) => Number.isInteger(v) && (v as number) >= 0)) {
      throw new FormatError(`${file}: found position ${JSON.stringify(position)}, expected { step, epoch, cursor } integers >= 0`)
    }
    const model = buildModel(config.model, config.tie)
    const expected = new Map(namedParameters(model).map((p) => [p.name, { shape: p.shape, dtype: "float32" as const }]))
    const params = new Map<string, Tensor>()
    const momentum: { [name: string]: { shape: number[]; dtype: "float32"; data: number[] } } = {}
    for (const [name, t] of ck.tensors) {
      if (name.startsWith("param/")) params.set(name.slice(6), t)
      else if (name.startsWith("momentum/")) momentum[name.slice(9)] = { shape: [...t.shape], dtype: "float32", data: Array.from(t.data) }
      else throw new FormatError(`${file}: found tensor '${name}', expected only param/* and momentum/*`)
    }
    checkTensorsMatch(params, expected, file)
    const optimizer = { ...(m.optimizer as unknown as ReturnType<SGD["exportState"]>), buffers: momentum }
    return { session: new TrainingSession(config, train, test, { params, position, optimizer }), meta: m }
  }
}

/**
 * With a worker pool installed, kernels split work only over shared memory: batches are
 * allocated there (undefined without a pool: plain arrays).
 */
function sharedAllocator(): ((dtype: "float32" | "float64", size: number) => Float32Array | Float64Array) | undefined {
  const backend = parallelBackend()
  return backend === undefined ? undefined : (dtype, size) => backend.allocShared(dtype, size) as Float32Array | Float64Array
}

/** The parameter store moved into shared memory when a pool is installed (same values). */
function shareParams(params: Map<string, Tensor>): Map<string, Tensor> {
  const allocate = sharedAllocator()
  if (allocate === undefined) return params
  for (const [name, t] of params) {
    const data = allocate(t.dtype === "float64" ? "float64" : "float32", t.data.length)
    data.set(t.data)
    params.set(name, { ...t, data })
  }
  return params
}

/** An ImageDataset from parsed MNIST IDX images [n, 28, 28] and labels [n]. */
export function mnistDataset(images: Uint8Array, labels: Uint8Array, count: number): ImageDataset {
  if (images.length !== count * PIXELS || labels.length !== count) {
    throw new FormatError(`MNIST subset: ${images.length} image bytes and ${labels.length} labels for ${count} images (expected ${count * PIXELS} and ${count})`)
  }
  return { images, labels, count, channels: 1, height: 28, width: 28, numClasses: 10 }
}
