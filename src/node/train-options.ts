/**
 * The optimizer and learning-rate schedule choices of the training CLI, and how a
 * {@link TrainConfig} turns into an Optimizer and an LRScheduler.
 */
import { Adagrad } from "../optim/adagrad.ts"
import { Adam, AdamW } from "../optim/adam.ts"
import { CosineAnnealingLR, LambdaLR, LinearLR, OneCycleLR, SequentialLR, type LRScheduler } from "../optim/lr-scheduler.ts"
import type { Optimizer } from "../optim/optimizer.ts"
import { RMSprop } from "../optim/rmsprop.ts"
import { SGD } from "../optim/sgd.ts"
import type { OptimizerName, TrainConfig } from "./train-config.ts"

export { OPTIMIZER_NAMES, SCHEDULES, type OptimizerName, type Schedule, type ScheduleInterval } from "./train-config.ts"

/**
 * The defaults of each optimizer when --lr, --momentum or --weight-decay are not given:
 * SGD keeps the tuned LeNet-5 settings of {@link DEFAULT_CONFIG}; the others take
 * torch.optim's defaults (AdamW's weight decay 1e-2, RMSprop's momentum 0).
 */
export const OPTIMIZER_DEFAULTS: { readonly [K in OptimizerName]: { readonly lr: number; readonly momentum: number; readonly weightDecay: number } } = {
  sgd: { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  adam: { lr: 1e-3, momentum: 0, weightDecay: 0 },
  adamw: { lr: 1e-3, momentum: 0, weightDecay: 1e-2 },
  rmsprop: { lr: 1e-2, momentum: 0, weightDecay: 0 },
  adagrad: { lr: 1e-2, momentum: 0, weightDecay: 0 },
}

/**
 * The factor of the closed-form schedules (constant, cosine, step) at schedule step k of
 * `total` (steps or epochs, per config.scheduleInterval); `perEpoch` schedule steps make
 * one epoch.
 * - constant: 1
 * - cosine:   (1 + cos(pi * k / total)) / 2 (torch's CosineAnnealingLR with eta_min 0, closed form)
 * - step:     1, then 0.1 for the last third of the epochs
 */
export function scheduleFactor(config: TrainConfig, k: number, perEpoch: number): number {
  switch (config.schedule) {
    case "cosine":
      return (1 + Math.cos(Math.PI * (k / (config.epochs * perEpoch)))) / 2
    case "step":
      return Math.floor(k / perEpoch) >= Math.ceil((2 * config.epochs) / 3) && config.epochs > 1 ? 0.1 : 1
    default:
      return 1
  }
}

/**
 * The learning rate of step `step` (0-based) of epoch `epoch` (0-based) under the
 * closed-form schedules (constant, cosine, step; see `scheduleFactor`), stepped per
 * optimizer step: a pure function of the position in training.
 */
export function learningRate(config: TrainConfig, epoch: number, step: number, stepsPerEpoch: number): number {
  return config.lr * scheduleFactor(config, epoch * stepsPerEpoch + step, stepsPerEpoch)
}

/** The optimizer a config names, on the config's lr, momentum and weight decay. */
export function buildOptimizer(config: TrainConfig): Optimizer {
  const { lr, momentum, weightDecay } = config
  switch (config.optimizer) {
    case "sgd":
      return new SGD({ lr, momentum, weightDecay })
    case "adam":
      return new Adam({ lr, weightDecay })
    case "adamw":
      return new AdamW({ lr, weightDecay })
    case "rmsprop":
      return new RMSprop({ lr, momentum, weightDecay })
    case "adagrad":
      return new Adagrad({ lr, weightDecay })
  }
}

/**
 * The schedule a config names, stepped `stepsPerEpoch` times per epoch (1 with
 * scheduleInterval "epoch"):
 * - constant, cosine, step: LambdaLR with {@link scheduleFactor}
 * - onecycle: OneCycleLR(max_lr = lr, total_steps = all steps; momentum or beta1 cycled
 *   0.95 -> 0.85 -> 0.95, except with Adagrad)
 * - warmup-cosine: LinearLR from lr / 10 over warmupEpochs, then CosineAnnealingLR to 0
 *   (SequentialLR)
 */
export function buildScheduler(config: TrainConfig, optimizer: Optimizer, stepsPerEpoch: number): LRScheduler {
  const perEpoch = config.scheduleInterval === "epoch" ? 1 : stepsPerEpoch
  const total = config.epochs * perEpoch
  switch (config.schedule) {
    case "onecycle":
      return new OneCycleLR(optimizer, { maxLr: config.lr, totalSteps: total, cycleMomentum: config.optimizer !== "adagrad" })
    case "warmup-cosine": {
      const warm = Math.min(total - 1, Math.max(1, Math.round(config.warmupEpochs * perEpoch)))
      const warmup = new LinearLR(optimizer, { startFactor: 0.1, totalIters: warm })
      const cosine = new CosineAnnealingLR(optimizer, { tMax: total - warm })
      return new SequentialLR(optimizer, [warmup, cosine], [warm])
    }
    default:
      return new LambdaLR(optimizer, (k) => scheduleFactor(config, k, perEpoch))
  }
}

