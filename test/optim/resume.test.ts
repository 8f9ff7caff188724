import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Random, tensor, type Tensor } from "../../src/index.ts"
import { decodeCheckpoint, encodeCheckpoint, type JsonValue } from "../../src/io/checkpoint.ts"
import { initParameters } from "../../src/nn/module.ts"
import { mlp } from "../../src/nn/models.ts"
import { Trainer } from "../../src/nn/trainer.ts"
import { Adam, OneCycleLR, type SchedulerState } from "../../src/optim/index.ts"
import { takeExamples } from "../../src/data/batches.ts"
import { loadMnist } from "../../src/node/mnist.ts"
import { DEFAULT_CONFIG, trainRun, type TrainConfig } from "../../src/node/train.ts"
import { loadTrainingCheckpoint } from "../../src/node/training-checkpoint.ts"

const STEPS = 12
const BATCHES = (() => {
  const r = new Random(5)
  return Array.from({ length: STEPS }, () => ({
    x: tensor(Array.from({ length: 8 * 6 }, () => r.normal()), [8, 6], "float64"),
    labels: tensor(Array.from({ length: 8 }, () => Math.floor(r.uniform(0, 3))), [8], "int32"),
  }))
})()

/** A fresh MLP trainer with Adam + OneCycle (beta1 cycled), stepping the schedule per step. */
function setup() {
  const model = mlp({ inputShape: [6], hidden: [5], numClasses: 3 })
  const params = initParameters(model, { seed: 3, dtype: "float64" })
  const optimizer = new Adam({ lr: 0.01, weight_decay: 1e-3, amsgrad: true })
  const scheduler = new OneCycleLR(optimizer, { max_lr: 0.05, total_steps: STEPS, anneal_strategy: "cos" })
  const trainer = new Trainer({ model, params, optimizer, scheduler, dtype: "float64", clipGradNorm: 1 })
  return { params, optimizer, scheduler, trainer }
}

const bytesOf = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)

describe("checkpoint -> resume with Adam + OneCycleLR", () => {
  it("reproduces the uninterrupted run bit for bit (through checkpoint bytes)", () => {
    const straight = setup()
    const losses = BATCHES.map((b) => straight.trainer.step(b.x, b.labels))

    const first = setup()
    const firstLosses = BATCHES.slice(0, 5).map((b) => first.trainer.step(b.x, b.labels))
    // Save parameters, optimizer buffers and JSON state as a checkpoint file would.
    const opt = first.optimizer.stateDict()
    const tensors = new Map<string, Tensor>()
    for (const [k, t] of first.params) tensors.set(`param/${k}`, t)
    for (const [k, t] of opt.tensors) tensors.set(`optim/${k}`, t)
    const meta = { optimizer: opt.meta, scheduler: first.scheduler.stateDict() } as unknown as JsonValue
    const bytes = encodeCheckpoint({ tensors, meta })

    const ck = decodeCheckpoint(bytes)
    const second = setup() // a new process: fresh objects, then the saved state
    for (const [k, t] of ck.tensors) if (k.startsWith("param/")) second.params.get(k.slice(6))!.data.set(t.data)
    const optTensors = new Map([...ck.tensors].filter(([k]) => k.startsWith("optim/")).map(([k, t]) => [k.slice(6), t] as const))
    const savedMeta = ck.meta as { optimizer: { type: string }; scheduler: SchedulerState }
    second.optimizer.loadStateDict({ meta: savedMeta.optimizer, tensors: optTensors })
    second.scheduler.loadStateDict(savedMeta.scheduler)
    const rest = BATCHES.slice(5).map((b) => second.trainer.step(b.x, b.labels))

    expect([...firstLosses, ...rest]).toEqual(losses)
    for (const [name, t] of straight.params) expect(bytesOf(second.params.get(name)!).equals(bytesOf(t)), name).toBe(true)
    expect(second.optimizer.paramGroups).toEqual(straight.optimizer.paramGroups)
    expect(second.scheduler.getLastLr()).toEqual(straight.scheduler.getLastLr())
    // the schedule really moved lr and beta1 (a resume that ignored it would differ)
    expect(straight.optimizer.paramGroups[0].betas[0]).not.toBe(0.9)
    expect(straight.optimizer.lr).not.toBe(0.01)
  })
})

describe("the training loop resumes any optimizer and schedule", () => {
  const data = { train: takeExamples(loadMnist("train"), 300), test: takeExamples(loadMnist("test"), 100) }
  const quiet = { write: () => true, isTTY: false }
  const config: TrainConfig = {
    ...DEFAULT_CONFIG,
    model: "mlp",
    epochs: 3,
    batchSize: 32,
    optimizer: "adamw",
    lr: 3e-3,
    weightDecay: 0.01,
    schedule: "onecycle",
    clipNorm: 1,
    limit: 300,
    testLimit: 100,
  }

  it("adamw + onecycle + clipping: resumed after epoch 1, bit-identical to a straight run", () => {
    const straightDir = mkdtempSync(join(tmpdir(), "dagrad-optim-"))
    const resumedDir = mkdtempSync(join(tmpdir(), "dagrad-optim-"))
    const a = trainRun(config, { out: straightDir, stream: quiet, data })
    trainRun(config, { out: resumedDir, stream: quiet, data, stopAfterEpochs: 1 })
    const b = trainRun(config, { out: resumedDir, stream: quiet, data, resume: true })
    for (const [name, t] of a.trainer.params) expect(bytesOf(b.trainer.params.get(name)!).equals(bytesOf(t)), name).toBe(true)
    const saved = loadTrainingCheckpoint(join(resumedDir, "checkpoint.dgck"))
    expect(saved.optimizer.meta.type).toBe("adamw")
    expect(saved.scheduler.type).toBe("one_cycle_lr")
    expect([...saved.optimizer.tensors.keys()]).toContain("exp_avg/fc1.weight")
  })

  it("per-epoch schedules step once per epoch", () => {
    const r = trainRun({ ...config, optimizer: "sgd", lr: 0.1, schedule: "warmup-cosine", scheduleInterval: "epoch", clipNorm: null, warmupEpochs: 1 }, { out: mkdtempSync(join(tmpdir(), "dagrad-optim-")), stream: quiet, data })
    // LinearLR from lr/10 for 1 epoch, then a cosine over the remaining 2: 0.01, 0.1, 0.05
    expect(r.metrics.map((m) => m.lr)).toEqual([0.1 * 0.1, 0.1, expect.closeTo(0.05, 15)])
  })
})
