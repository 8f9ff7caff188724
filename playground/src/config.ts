/**
 * What defines a run, chosen in the page, and its validation. Kept apart from the session
 * so the page's main bundle does not pull in the engine: the errors come straight from
 * the engine's errors module (the package exports the same classes from its root).
 */
import { AttrError } from "../../src/errors.ts"

/** The models the page offers. */
export const MODEL_NAMES = ["lenet5", "small-cnn"] as const
/** A model the page offers. */
export type ModelName = (typeof MODEL_NAMES)[number]

/** Max-pool tie policies (dagrad's `tie` attribute). */
export const TIE_POLICIES = ["first", "last", "split", "all"] as const
/** A max-pool tie policy. */
export type Tie = (typeof TIE_POLICIES)[number]

/** Optimizers: SGD plain, with momentum 0.9, or Nesterov momentum 0.9. */
export const OPTIMIZER_NAMES = ["sgd", "momentum", "nesterov"] as const
/** An optimizer the page offers. */
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number]

/** Everything that defines a run; chosen in the page. */
export interface TrainConfig {
  readonly model: ModelName
  readonly optimizer: OptimizerName
  readonly lr: number
  readonly batchSize: number
  readonly tie: Tie
  readonly seed: number
}

/** LeNet-5, SGD with momentum 0.9, lr 0.02, batch 32: 92.25% on the test subset after 300 steps (npx tsx playground/scripts/bench-node.ts). */
export const DEFAULT_CONFIG: TrainConfig = { model: "lenet5", optimizer: "momentum", lr: 0.02, batchSize: 32, tie: "first", seed: 1 }

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new AttrError(`playground config: ${what} = ${JSON.stringify(v)} (expected one of ${allowed.join(", ")})`)
  }
  return v as T
}

/**
 * Checks a config that crossed a message boundary or came out of a file.
 *
 * @example
 * parseConfig({ ...DEFAULT_CONFIG, lr: "0.1" }) // AttrError: lr = "0.1" (expected a number in (0, 10])
 */
export function parseConfig(raw: unknown): TrainConfig {
  if (typeof raw !== "object" || raw === null) throw new AttrError(`playground config: ${JSON.stringify(raw)} (expected an object)`)
  const r = raw as { [k: string]: unknown }
  const lr = r.lr
  if (typeof lr !== "number" || !(lr > 0 && lr <= 10)) throw new AttrError(`playground config: lr = ${JSON.stringify(lr)} (expected a number in (0, 10])`)
  const batchSize = r.batchSize
  if (typeof batchSize !== "number" || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1024) {
    throw new AttrError(`playground config: batchSize = ${JSON.stringify(batchSize)} (expected an integer in [1, 1024])`)
  }
  const seed = r.seed ?? DEFAULT_CONFIG.seed
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0) throw new AttrError(`playground config: seed = ${JSON.stringify(seed)} (expected an integer >= 0)`)
  return {
    model: oneOf(r.model, MODEL_NAMES, "model"),
    optimizer: oneOf(r.optimizer, OPTIMIZER_NAMES, "optimizer"),
    tie: oneOf(r.tie, TIE_POLICIES, "tie"),
    lr,
    batchSize,
    seed,
  }
}

