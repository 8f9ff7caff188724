/**
 * Optimizers and schedules from plain JSON specs written with torch.optim's names, e.g.
 * `{ type: "adam", lr: 0.01, betas: [0.9, 0.999], weight_decay: 0 }` (the form of the golden
 * files' `attrs.optimizer` and `attrs.scheduler`), so a configuration can be stored or sent.
 */
import { AttrError } from "../errors.ts"
import { Adagrad } from "./adagrad.ts"
import { Adam, AdamW } from "./adam.ts"
import { ChainedScheduler, CosineAnnealingLR, ExponentialLR, LinearLR, LRSchedulerBase, MultiStepLR, OneCycleLR, SequentialLR, StepLR, type LRScheduler } from "./lr-scheduler.ts"
import type { Optimizer } from "./optimizer.ts"
import { RMSprop } from "./rmsprop.ts"
import { SGD, type SGDOptions } from "./sgd.ts"

/** An optimizer spec: `type` (sgd, adam, adamw, rmsprop, adagrad) and its constructor arguments. */
export type OptimizerSpec = { readonly type: string; readonly [argument: string]: unknown }

/**
 * A schedule spec: `type` (step_lr, multistep_lr, exponential_lr, cosine_annealing_lr,
 * linear_lr, one_cycle_lr; or sequential_lr with `schedulers` and `milestones`, or
 * chained_scheduler with `schedulers`) and its arguments.
 */
export type SchedulerSpec = { readonly type: string; readonly [argument: string]: unknown }

/**
 * The optimizer a spec describes. `maximize: true` is not supported (AttrError).
 *
 * @example
 * optimizerFromSpec({ type: "adamw", lr: 3e-3, weight_decay: 0.05 })
 */
export function optimizerFromSpec(spec: OptimizerSpec): Optimizer {
  const { type, maximize, ...args } = spec ?? ({} as OptimizerSpec)
  if (maximize !== undefined && maximize !== false) throw new AttrError(`optimizer ${type}: maximize = ${JSON.stringify(maximize)} (only false is supported)`)
  switch (type) {
    case "sgd":
      return new SGD(args as unknown as SGDOptions)
    case "adam":
      return new Adam(args)
    case "adamw":
      return new AdamW(args)
    case "rmsprop":
      return new RMSprop(args)
    case "adagrad":
      return new Adagrad(args)
    default:
      throw new AttrError(`optimizer type ${JSON.stringify(type)} (expected sgd, adam, adamw, rmsprop or adagrad)`)
  }
}

/**
 * The schedule a spec describes, attached to `optimizer`.
 *
 * @example
 * schedulerFromSpec({ type: "one_cycle_lr", max_lr: 0.01, total_steps: 1000 }, opt)
 */
export function schedulerFromSpec(spec: SchedulerSpec, optimizer: Optimizer): LRScheduler {
  const { type, ...args } = spec ?? ({} as SchedulerSpec)
  const children = (): LRSchedulerBase[] => {
    const list = args.schedulers
    if (!Array.isArray(list)) throw new AttrError(`${type}: schedulers = ${JSON.stringify(list)} (expected a list of schedule specs)`)
    return list.map((s) => {
      const child = schedulerFromSpec(s as SchedulerSpec, optimizer)
      if (!(child instanceof LRSchedulerBase)) throw new AttrError(`${type}: a nested ${(s as SchedulerSpec).type} cannot be chained (expected a basic schedule)`)
      return child
    })
  }
  switch (type) {
    case "step_lr":
      return new StepLR(optimizer, args)
    case "multistep_lr":
      return new MultiStepLR(optimizer, args as { milestones: number[] })
    case "exponential_lr":
      return new ExponentialLR(optimizer, args as { gamma: number })
    case "cosine_annealing_lr":
      return new CosineAnnealingLR(optimizer, args)
    case "linear_lr":
      return new LinearLR(optimizer, args)
    case "one_cycle_lr":
      return new OneCycleLR(optimizer, args)
    case "sequential_lr":
      return new SequentialLR(optimizer, children(), args.milestones as number[])
    case "chained_scheduler":
      return new ChainedScheduler(children())
    default:
      throw new AttrError(
        `schedule type ${JSON.stringify(type)} (expected step_lr, multistep_lr, exponential_lr, cosine_annealing_lr, linear_lr, one_cycle_lr, sequential_lr or chained_scheduler)`,
      )
  }
}
