/**
 * The training worker's brain, with every effect passed in (posting, the clock, loading
 * data, storage, yielding to the event loop) so it runs the same in a Web Worker and in
 * a unit test. worker.ts only wires these to the worker's globals.
 */
import { EVAL_EVERY_STEPS, PROGRESS_INTERVAL_MS, RateGate, SAVE_EVERY_STEPS, SLICE_MS, parseCommand, type Command, type Point, type Report } from "./protocol.ts"
import { TrainingSession, parseConfig, type TrainConfig } from "./session.ts"
import type { ImageDataset } from "./engine.ts"
import { argmax } from "./metrics.ts"

/** What the controller needs from its host. */
export interface ControllerHost {
  post(report: Report): void
  now(): number
  /** Loads the train and test subsets from `dataUrl`, reporting bytes as they arrive. */
  loadData(dataUrl: string, progress: (loaded: number, total: number) => void): Promise<{ train: ImageDataset; test: ImageDataset }>
  /** Starts a kernel worker pool of `threads` threads; resolves to the threads in use (1: none). */
  startPool(threads: number): Promise<number>
  /** Lets queued messages run (a macrotask). */
  yieldToEvents(): Promise<void>
  /** The saved run, if any. */
  loadSaved(): Promise<Uint8Array | undefined>
  save(bytes: Uint8Array): Promise<void>
}

/**
 * Handles the page's commands: owns the session and the training loop.
 *
 * @example
 * const c = new Controller(host)
 * self.onmessage = (e) => c.handle(e.data)
 */
export class Controller {
  private session: TrainingSession | undefined
  private data: { train: ImageDataset; test: ImageDataset } | undefined
  private running = false
  private loop: Promise<void> | undefined
  private readonly gate: RateGate
  private pending: number[] = []
  private pendingFrom = 0
  /** Images trained since start/resume, and the milliseconds their steps took (evaluation excluded). */
  private imagesSince = 0
  private trainMs = 0
  private inspectIndex = 0
  private inspectTie: TrainConfig["tie"] = "first"
  private lastEvalStep = -1
  private threads = 1

  constructor(private readonly host: ControllerHost) {
    this.gate = new RateGate(PROGRESS_INTERVAL_MS, () => host.now())
  }

  get isRunning(): boolean {
    return this.running
  }

  /** The loop's promise while training (tests await it after a pause). */
  get training(): Promise<void> | undefined {
    return this.loop
  }

  /** Entry point for every message; errors are reported, never thrown into the host. */
  async handle(raw: unknown): Promise<void> {
    try {
      await this.dispatch(parseCommand(raw))
    } catch (e) {
      this.host.post({ type: "error", message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })
    }
  }

  private requireSession(what: string): TrainingSession {
    if (this.session === undefined) throw new Error(`${what}: the data is not loaded yet (expected an init message first)`)
    return this.session
  }

  private async dispatch(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case "init": {
        const config = parseConfig(cmd.config)
        this.threads = await this.host.startPool(cmd.threads)
        this.data = await this.host.loadData(cmd.dataUrl, (loaded, total) => this.host.post({ type: "loading", loaded, total }))
        let restored = false
        if (cmd.restore) {
          const saved = await this.host.loadSaved()
          if (saved !== undefined) {
            try {
              this.session = TrainingSession.fromCheckpoint(saved, this.data.train, this.data.test, "the saved run").session
              restored = true
            } catch (e) {
              this.host.post({ type: "error", message: `could not resume the saved run (${e instanceof Error ? e.message : String(e)}); starting fresh` })
            }
          }
        }
        this.session ??= new TrainingSession(config, this.data.train, this.data.test)
        this.announce(restored)
        return
      }
      case "start":
        this.start()
        return
      case "pause":
        await this.pause()
        return
      case "reset": {
        await this.pause()
        const config = parseConfig(cmd.config)
        const s = this.requireSession("reset")
        this.session = new TrainingSession(config, s.train, s.test)
        this.announce(false)
        await this.host.save(this.session.toCheckpoint())
        return
      }
      case "set-lr":
        this.requireSession("set-lr").setLearningRate(cmd.lr)
        return
      case "set-tie":
        this.requireSession("set-tie").setTie(cmd.tie)
        this.inspectTie = cmd.tie
        this.postInspection()
        return
      case "inspect":
        this.inspectIndex = cmd.index
        this.inspectTie = cmd.tie
        this.postInspection()
        return
      case "predict": {
        const probabilities = this.requireSession("predict").classify(cmd.pixels)
        this.host.post({ type: "prediction", probabilities, predicted: argmax(probabilities) })
        return
      }
      case "export": {
        const s = this.requireSession("export")
        this.host.post({ type: "checkpoint", bytes: s.toCheckpoint(), step: s.step })
        return
      }
      case "import": {
        const s = this.requireSession("import")
        await this.pause()
        this.session = TrainingSession.fromCheckpoint(cmd.bytes, s.train, s.test, cmd.name).session
        this.host.post({ type: "loaded", name: cmd.name, config: this.session.config, position: { step: this.session.step, epoch: this.session.epoch, cursor: 0 } })
        this.announce(true)
        await this.host.save(cmd.bytes)
        return
      }
    }
  }

  /** Tells the page about a new or restored session: config, position, views, accuracy. */
  private announce(restored: boolean): void {
    const s = this.session!
    this.inspectTie = s.config.tie
    this.host.post({
      type: "ready",
      config: s.config,
      position: { step: s.step, epoch: s.epoch, cursor: 0 },
      restored,
      trainCount: s.train.count,
      testCount: s.test.count,
      threads: this.threads,
    })
    this.postViews()
  }

  private start(): void {
    this.requireSession("start")
    if (this.running) return
    this.running = true
    this.host.post({ type: "running", running: true })
    this.pending = []
    this.imagesSince = 0
    this.trainMs = 0
    this.gate.open()
    this.gate.ready()
    this.loop = this.runLoop()
  }

  private async pause(): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.loop
    this.loop = undefined
  }

  private async runLoop(): Promise<void> {
    const s = this.session!
    try {
      while (this.running && this.session === s) {
        const sliceStart = this.host.now()
        do {
          if (this.pending.length === 0) this.pendingFrom = s.step
          const t0 = this.host.now()
          this.pending.push(s.trainSteps(1)[0])
          this.trainMs += this.host.now() - t0
          this.imagesSince += s.config.batchSize
          if (s.step % EVAL_EVERY_STEPS === 0) {
            this.flushProgress()
            this.postViews()
          }
          if (s.step % SAVE_EVERY_STEPS === 0) await this.host.save(s.toCheckpoint())
        } while (this.running && this.host.now() - sliceStart < SLICE_MS)
        if (this.gate.ready()) this.flushProgress()
        await this.host.yieldToEvents()
      }
    } catch (e) {
      this.host.post({ type: "error", message: `training stopped: ${e instanceof Error ? e.message : String(e)}` })
    }
    this.running = false
    this.flushProgress()
    // The accuracy on screen always belongs to the weights in memory once paused.
    if (s.step !== this.lastEvalStep) this.postViews()
    this.host.post({ type: "running", running: false })
    await this.host.save(s.toCheckpoint())
  }

  /** Posts the steps since the last report as one progress message (no-op when none). */
  private flushProgress(): void {
    const s = this.session!
    if (this.pending.length === 0) return
    const seconds = this.trainMs / 1000
    const loss = this.pending.reduce((a, b) => a + b, 0) / this.pending.length
    const points: Point[] = [[this.pendingFrom + this.pending.length, loss]]
    this.host.post({
      type: "progress",
      step: s.step,
      epoch: s.epoch,
      loss,
      imagesPerSecond: seconds > 0 ? this.imagesSince / seconds : 0,
      lossPoints: points,
    })
    this.pending = []
  }

  /** Accuracy and confusion matrix, the filters and the inspected digit's views. */
  private postViews(): void {
    const s = this.session!
    this.lastEvalStep = s.step
    this.host.post({ type: "evaluation", evaluation: s.evaluate() })
    const f = s.firstFilters()
    this.host.post({ type: "filters", shape: [...f.shape], data: Float32Array.from(f.data) })
    this.postInspection()
  }

  private postInspection(): void {
    const s = this.requireSession("inspect")
    const index = Math.min(this.inspectIndex, s.test.count - 1)
    this.host.post({
      type: "inspection",
      index,
      label: s.test.labels[index],
      activations: s.activations(index),
      routing: s.routing(index, this.inspectTie),
    })
  }
}
