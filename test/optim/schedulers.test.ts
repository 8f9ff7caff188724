import { describe, expect, it } from "vitest"
import { AttrError, FormatError } from "../../src/index.ts"
import { Adagrad, Adam, ChainedScheduler, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, MultiStepLR, OneCycleLR, SequentialLR, SGD, StepLR, schedulerFromSpec, type LRScheduler, type Optimizer } from "../../src/optim/index.ts"

/** The lr of steps 0..n-1: read before each step, then step the schedule (the golden loop). */
function lrs(s: LRScheduler, n: number): number[] {
  const out: number[] = []
  for (let k = 0; k < n; k++) {
    out.push(s.optimizer.lr)
    s.step()
  }
  return out
}

const sgd = (lr = 1, momentum = 0): SGD => new SGD({ lr, momentum })
const close = (got: number[], want: number[]): void => {
  expect(got.length).toBe(want.length)
  got.forEach((g, i) => expect(g, `step ${i}`).toBeCloseTo(want[i], 14))
}

describe("closed schedules, hand-worked (base lr 1)", () => {
  it("StepLR: gamma every step_size steps", () => {
    expect(lrs(new StepLR(sgd(), { step_size: 2, gamma: 0.5 }), 6)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25])
  })

  it("MultiStepLR: a milestone listed twice multiplies twice", () => {
    close(lrs(new MultiStepLR(sgd(), { milestones: [1, 3, 3], gamma: 0.1 }), 5), [1, 0.1, 0.1, 0.001, 0.001])
  })

  it("ExponentialLR: gamma every step", () => {
    expect(lrs(new ExponentialLR(sgd(), { gamma: 0.5 }), 4)).toEqual([1, 0.5, 0.25, 0.125])
  })

  it("CosineAnnealingLR: half a cosine over T_max, rising again after it", () => {
    // eta_min + (1 - eta_min)(1 + cos(pi k / 2)) / 2, k = 0..4: 1, 0.5, 0, 0.5, 1
    close(lrs(new CosineAnnealingLR(sgd(), { T_max: 2 }), 5), [1, 0.5, 0, 0.5, 1])
    // eta_min 0.2: k = 1 -> 0.2 + 0.8 * 0.5
    close(lrs(new CosineAnnealingLR(sgd(), { tMax: 2, etaMin: 0.2 }), 3), [1, 0.6, 0.2])
  })

  it("LinearLR: start_factor to end_factor over total_iters, then constant", () => {
    close(lrs(new LinearLR(sgd(), { start_factor: 0.25, total_iters: 3 }), 5), [0.25, 0.5, 0.75, 1, 1])
    // defaults: start 1/3 over 5 steps
    close(lrs(new LinearLR(sgd(3)), 7), [1, 1.4, 1.8, 2.2, 2.6, 3, 3])
  })

  it("LambdaLR: base_lr * f(k)", () => {
    expect(lrs(new LambdaLR(sgd(2), (k) => 1 / (k + 1)), 3)).toEqual([2, 1, 2 / 3])
  })
})

describe("OneCycleLR, hand-worked (max_lr 1, div_factor 10, final_div_factor 100)", () => {
  const base = { max_lr: 1, div_factor: 10, final_div_factor: 100 }

  it("linear, two phases: 0.1 -> 1 at e1 = pct*T - 1, then -> 0.001 at T - 1; momentum the other way", () => {
    const opt = sgd(123, 0.9) // the optimizer's lr and momentum are overwritten
    const s = new OneCycleLR(opt, { ...base, total_steps: 5, pct_start: 0.4, anneal_strategy: "linear" })
    const moms: number[] = []
    const got: number[] = []
    for (let k = 0; k < 5; k++) {
      got.push(opt.lr)
      moms.push(opt.paramGroups[0].momentum)
      s.step()
    }
    // e1 = 0.4*5 - 1 = 1; then f = (k - 1)/3: lr = 1 + (0.001 - 1) f
    close(got, [0.1, 1, 1 - 0.999 / 3, 1 - (2 * 0.999) / 3, 0.001])
    close(moms, [0.95, 0.85, 0.85 + 0.1 / 3, 0.85 + 0.2 / 3, 0.95])
  })

  it("cos anneal: end + (start - end)/2 (1 + cos(pi f))", () => {
    const s = new OneCycleLR(sgd(), { ...base, total_steps: 5, pct_start: 0.4 })
    // k = 2: f = 1/3, lr = 0.001 + 0.999/2 * (1 + 0.5)
    close(lrs(s, 3), [0.1, 1, 0.001 + (0.999 / 2) * 1.5])
  })

  it("three phases: up to e1, back to initial_lr at e2 = 2 pct T - 2, then down to min_lr", () => {
    const opt = sgd(1, 0.9)
    const s = new OneCycleLR(opt, { ...base, total_steps: 10, pct_start: 0.3, anneal_strategy: "linear", three_phase: true })
    const got = lrs(s, 10)
    // e1 = 2, e2 = 4: 0.1, 0.55, 1, 0.55, 0.1; phase 3 over k = 4..9: 0.1 + (0.001 - 0.1)(k - 4)/5
    close(got, [0.1, 0.55, 1, 0.55, 0.1, 0.1 - 0.099 * 0.2, 0.1 - 0.099 * 0.4, 0.1 - 0.099 * 0.6, 0.1 - 0.099 * 0.8, 0.001])
    expect(opt.paramGroups[0].momentum).toBe(0.95) // phase 3 keeps max_momentum
  })

  it("cycles Adam's beta1 (beta2 untouched), gives SGD without momentum momentum, refuses Adagrad", () => {
    const adam = new Adam({ betas: [0.5, 0.99] })
    new OneCycleLR(adam, { max_lr: 0.01, total_steps: 4 })
    expect(adam.paramGroups[0].betas).toEqual([0.95, 0.99])
    const plain = sgd(1, 0)
    new OneCycleLR(plain, { max_lr: 0.01, total_steps: 4 })
    expect(plain.momentum).toBe(0.95)
    expect(() => new OneCycleLR(new Adagrad(), { max_lr: 0.01, total_steps: 4 })).toThrow(/no momentum or betas/)
    expect(() => new OneCycleLR(new Adagrad(), { max_lr: 0.01, total_steps: 4, cycle_momentum: false })).not.toThrow()
  })

  it("stepping past total_steps is an error, as in PyTorch; epochs x steps_per_epoch gives total_steps", () => {
    const s = new OneCycleLR(sgd(), { max_lr: 1, epochs: 2, steps_per_epoch: 2 })
    expect(s.totalSteps).toBe(4)
    lrs(s, 4) // last_epoch = 4 = total_steps is still allowed
    expect(() => s.step()).toThrow(AttrError)
  })
})

describe("chaining", () => {
  it("SequentialLR: LinearLR warm-up, then a cosine from the base lr at the milestone", () => {
    const opt = sgd()
    const warm = new LinearLR(opt, { start_factor: 0.5, total_iters: 2 })
    const cos = new CosineAnnealingLR(opt, { T_max: 2 })
    // k = 0, 1: 0.5, 0.75; k = 2 (milestone): cosine restarts at its base lr 1; then 0.5, 0
    close(lrs(new SequentialLR(opt, [warm, cos], [2]), 5), [0.5, 0.75, 1, 0.5, 0])
  })

  it("ChainedScheduler: the factors multiply", () => {
    const opt = sgd()
    const s = new ChainedScheduler([new LinearLR(opt, { start_factor: 0.5, total_iters: 2 }), new ExponentialLR(opt, { gamma: 0.5 })])
    // (0.5, 0.75, 1, 1) x (1, 0.5, 0.25, 0.125)
    close(lrs(s, 4), [0.5, 0.375, 0.25, 0.125])
  })

  it("from specs, as the golden files write them", () => {
    const opt = sgd()
    const s = schedulerFromSpec(
      {
        type: "sequential_lr",
        schedulers: [
          { type: "linear_lr", start_factor: 0.5, total_iters: 2 },
          { type: "step_lr", step_size: 1, gamma: 0.5 },
        ],
        milestones: [2],
      },
      opt,
    )
    close(lrs(s, 4), [0.5, 0.75, 1, 0.5])
    expect(() => schedulerFromSpec({ type: "cyclic_lr" }, opt)).toThrow(/expected step_lr/)
  })
})

describe("schedule state", () => {
  const makers: [string, (o: Optimizer) => LRScheduler][] = [
    ["step", (o) => new StepLR(o, { step_size: 2, gamma: 0.5 })],
    ["cosine", (o) => new CosineAnnealingLR(o, { T_max: 4, eta_min: 0.01 })],
    ["onecycle", (o) => new OneCycleLR(o, { max_lr: 0.5, total_steps: 8, three_phase: true })],
    [
      "sequential",
      (o) => new SequentialLR(o, [new LinearLR(o, { total_iters: 3 }), new CosineAnnealingLR(o, { T_max: 5 })], [3]),
    ],
  ]
  for (const [name, make] of makers) {
    it(`${name}: a schedule and optimizer restored after 3 steps continue with the same lrs and momenta`, () => {
      const a = sgd(0.1, 0.9)
      const straight = lrs(make(a), 8)
      const b = sgd(0.1, 0.9)
      const sb = make(b)
      lrs(sb, 3)
      const savedOpt = b.stateDict()
      const savedSched = JSON.parse(JSON.stringify(sb.stateDict()))
      const c = sgd(0.1, 0.9)
      const sc = make(c)
      c.loadStateDict(savedOpt)
      sc.loadStateDict(savedSched)
      expect([...straight.slice(0, 3), ...lrs(sc, 5)]).toEqual(straight)
      expect(c.momentum).toBe(a.momentum)
    })
  }

  it("rejects another schedule's state", () => {
    const opt = sgd()
    expect(() => new StepLR(opt, { step_size: 1 }).loadStateDict(new ExponentialLR(opt, { gamma: 0.5 }).stateDict())).toThrow(FormatError)
  })
})
