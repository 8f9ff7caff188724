import { describe, expect, it } from "vitest"
import { Random, tensor, type Tensor } from "../../src/index.ts"
import type { ParamStore } from "../../src/exec/plan.ts"
import { initParameters } from "../../src/nn/module.ts"
import { mlp } from "../../src/nn/models.ts"
import { Trainer } from "../../src/nn/trainer.ts"
import { StepLR, type Optimizer, type OptimizerState, type ParamGroup } from "../../src/optim/index.ts"

/**
 * A user's own optimizer: sign SGD with a momentum buffer, written against the public
 * Optimizer interface only (this file is type-checked by `npm test`'s tsc --noEmit).
 */
class SignMomentum implements Optimizer {
  readonly paramGroups: ParamGroup[]
  private readonly buffers = new Map<string, Float64Array>()

  constructor(lr: number, momentum: number) {
    this.paramGroups = [{ lr, momentum }]
  }

  get lr(): number {
    return this.paramGroups[0].lr
  }

  set lr(value: number) {
    for (const g of this.paramGroups) g.lr = value
  }

  step(params: ParamStore, grads: ReadonlyMap<string, Tensor>): void {
    const { lr, momentum = 0 } = this.paramGroups[0]
    for (const [name, g] of grads) {
      const p = params.get(name)!.data
      let b = this.buffers.get(name)
      if (b === undefined) this.buffers.set(name, (b = new Float64Array(p.length)))
      for (let i = 0; i < p.length; i++) {
        b[i] = momentum * b[i] + g.data[i]
        p[i] -= lr * Math.sign(b[i])
      }
    }
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, Tensor>([...this.buffers].map(([k, b]) => [`buf/${k}`, tensor(b.slice(), [b.length], "float64")] as const))
    return { meta: { type: "sign_momentum", lr: this.lr }, tensors }
  }

  loadStateDict(state: OptimizerState): void {
    this.lr = state.meta.lr as number
    for (const [k, t] of state.tensors) this.buffers.set(k.slice(4), Float64Array.from(t.data))
  }
}

/** Three separable blobs in 4-d. */
function blobs(n: number): { x: Tensor; labels: Tensor } {
  const r = new Random(1)
  const centers = [[2, 2, 0, 0], [-2, 2, 0, 0], [0, -2, 2, 0]]
  const x: number[] = []
  const labels: number[] = []
  for (let i = 0; i < n; i++) {
    labels.push(i % 3)
    for (let d = 0; d < 4; d++) x.push(centers[i % 3][d] + 0.3 * r.normal())
  }
  return { x: tensor(x, [n, 4], "float32"), labels: tensor(labels, [n], "int32") }
}

describe("a user-defined optimizer", () => {
  it("type-checks against Optimizer, trains through Trainer, and takes a schedule", () => {
    const model = mlp({ inputShape: [4], hidden: [8], numClasses: 3 })
    const params = initParameters(model, { seed: 2 })
    const optimizer = new SignMomentum(0.02, 0.5)
    const scheduler = new StepLR(optimizer, { step_size: 30, gamma: 0.5 })
    const trainer = new Trainer({ model, params, optimizer, scheduler, clipGradValue: 10 })
    const { x, labels } = blobs(60)
    const before = trainer.evaluate(x, labels)
    for (let i = 0; i < 60; i++) trainer.step(x, labels)
    const after = trainer.evaluate(x, labels)
    expect(after.loss).toBeLessThan(before.loss / 2)
    expect(after.correct).toBe(60)
    expect(optimizer.lr).toBe(0.02 * 0.25) // StepLR halved it at steps 30 and 60
    expect(optimizer.stateDict().tensors.size).toBe(4)
  })
})
