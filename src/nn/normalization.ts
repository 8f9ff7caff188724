import { AttrError, ShapeError, showShape } from "../errors.ts"
import type { Value } from "../graph/builder.ts"
import { batchNorm2d } from "../ops/norm/index.ts"
import { dropout } from "../ops/dropout/index.ts"
import type { ForwardContext, Module, ParamSpec } from "./module.ts"

/** Options of {@link BatchNorm2d}, as torch.nn.BatchNorm2d's keyword arguments (`eps` default 1e-5). */
export interface BatchNormLayerOptions {
  readonly eps?: number
  /**
   * Weight of the new batch statistics in the running averages (default 0.1); null (PyTorch's
   * None) makes them cumulative averages over all training batches, counted by the buffer
   * `num_batches_tracked`.
   */
  readonly momentum?: number | null
  /** Learn a per-channel scale `weight` and shift `bias` (default true). */
  readonly affine?: boolean
  /** Keep running statistics for inference (default true); if false, always batch statistics. */
  readonly track_running_stats?: boolean
}

type SpatialDims = 1 | 2 | 3
/** The input ranks PyTorch accepts per class: BatchNorm1d (N, C) or (N, C, L); 2d NCHW; 3d NCDHW. */
const acceptedRanks: { readonly [d in SpatialDims]: readonly number[] } = { 1: [2, 3], 2: [4], 3: [5] }

/**
 * Batch normalisation over the channels (dim 1) of its input (torch.nn.BatchNorm1d/2d/3d,
 * one definition; the classes fix the accepted input rank). Trainable `weight` (ones) and
 * `bias` (zeros); non-trainable buffers `running_mean` (zeros) and `running_var` (ones),
 * plus `num_batches_tracked` (0) when momentum is null, in the parameter store. A training
 * graph normalises by the batch statistics and reports the updated running statistics
 * (momentum, unbiased variance), which the Trainer writes back to the store after each
 * step; an inference graph normalises by the stored running statistics.
 *
 * PyTorch keeps `num_batches_tracked` whatever the momentum; here it exists only where it
 * changes a result (momentum null), so models without it keep their parameter stores.
 */
export abstract class BatchNormNd implements Module {
  readonly type: string
  readonly params: readonly ParamSpec[]
  readonly eps: number
  readonly momentum: number | null
  readonly affine: boolean
  readonly trackRunningStats: boolean

  protected constructor(
    readonly dims: SpatialDims,
    readonly numFeatures: number,
    options: BatchNormLayerOptions,
  ) {
    this.type = `BatchNorm${dims}d`
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new AttrError(`num_features = ${numFeatures} (expected an integer >= 1)`)
    this.eps = options.eps ?? 1e-5
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum
    if (!(this.eps >= 0)) throw new AttrError(`eps = ${this.eps} (expected >= 0)`)
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) {
      throw new AttrError(`momentum = ${this.momentum} (expected a number in [0, 1], or null for a cumulative average)`)
    }
    this.affine = options.affine ?? true
    this.trackRunningStats = options.track_running_stats ?? true
    const c = [numFeatures]
    const params: ParamSpec[] = []
    if (this.affine) {
      params.push({ name: "weight", shape: c, init: { kind: "constant", value: 1 }, trainable: true })
      params.push({ name: "bias", shape: c, init: { kind: "constant", value: 0 }, trainable: true })
    }
    if (this.trackRunningStats) {
      params.push({ name: "running_mean", shape: c, init: { kind: "constant", value: 0 }, trainable: false })
      params.push({ name: "running_var", shape: c, init: { kind: "constant", value: 1 }, trainable: false })
      if (this.momentum === null) params.push({ name: "num_batches_tracked", shape: [], init: { kind: "constant", value: 0 }, trainable: false })
    }
    this.params = params
  }

  forward(x: Value, ctx: ForwardContext): Value {
    const ranks = acceptedRanks[this.dims]
    if (!ranks.includes(x.rank)) {
      throw new ShapeError(`${this.type} '${ctx.path || "<root>"}' got input ${showShape(x.shape)} (expected ${ranks.map((r) => `${r}-d`).join(" or ")} input)`)
    }
    // Without running statistics PyTorch uses batch statistics in eval mode too.
    const training = ctx.training || !this.trackRunningStats
    const counted = this.trackRunningStats && this.momentum === null
    const out = batchNorm2d(x, {
      weight: this.affine ? ctx.param("weight") : undefined,
      bias: this.affine ? ctx.param("bias") : undefined,
      running_mean: this.trackRunningStats ? ctx.param("running_mean") : undefined,
      running_var: this.trackRunningStats ? ctx.param("running_var") : undefined,
      num_batches_tracked: counted ? ctx.param("num_batches_tracked") : undefined,
      training,
      momentum: this.momentum,
      eps: this.eps,
    })
    if (ctx.training && this.trackRunningStats) {
      ctx.updateBuffer("running_mean", out.running_mean!)
      ctx.updateBuffer("running_var", out.running_var!)
      if (counted) ctx.updateBuffer("num_batches_tracked", out.num_batches_tracked!)
    }
    return out.y
  }

  describe(): string {
    return `${this.type}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum ?? "None"}${this.affine ? "" : ", affine=False"}${
      this.trackRunningStats ? "" : ", track_running_stats=False"
    })`
  }
}

/**
 * torch.nn.BatchNorm1d over (N, C) or (N, C, L).
 *
 * @example
 * new BatchNorm1d(64) // after Linear(…, 64)
 */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(1, numFeatures, options)
  }
}

/**
 * torch.nn.BatchNorm2d over NCHW input.
 *
 * @example
 * new BatchNorm2d(16) // params bn.weight, bn.bias; buffers bn.running_mean, bn.running_var
 */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(2, numFeatures, options)
  }
}

/**
 * torch.nn.BatchNorm3d over (N, C, D, H, W).
 *
 * @example
 * new BatchNorm3d(8, { momentum: null }) // cumulative running averages
 */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(3, numFeatures, options)
  }
}

/**
 * Dropout (torch.nn.Dropout): in a training graph each element is zeroed with
 * probability p and the rest scaled by 1/(1 - p); in an inference graph it is the
 * identity (no node at all). The mask is drawn from an int32 seed input named
 * `<layer>.seed` that the Trainer feeds from its seeded stream each step, so runs are
 * reproducible and every step gets a fresh mask.
 *
 * @example
 * new Dropout(0.25)
 */
export class Dropout implements Module {
  readonly type = "Dropout"
  readonly params: readonly ParamSpec[] = []
  constructor(readonly p = 0.5) {
    if (typeof p !== "number" || !(p >= 0 && p <= 1)) throw new AttrError(`dropout p = ${JSON.stringify(p)} (expected a probability in [0, 1])`)
  }
  forward(x: Value, ctx: ForwardContext): Value {
    if (!ctx.training || this.p === 0) return x
    return dropout(x, { p: this.p, training: true, seed: this.p < 1 ? ctx.seedInput() : undefined })
  }
  describe(): string {
    return `Dropout(p=${this.p})`
  }
}
