import { describe, expect, it } from "vitest"
import { AttrError, FeedError, FormatError, tensor, type Tensor } from "../../src/index.ts"
import { Adagrad, Adam, AdamW, isBiasOrNorm, optimizerFromSpec, RMSprop, SGD, type Optimizer } from "../../src/optim/index.ts"

const f64 = (values: number[]): Tensor => tensor(values, [values.length], "float64")
const store = (entries: Record<string, number[]>): Map<string, Tensor> => new Map(Object.entries(entries).map(([k, v]) => [k, f64(v)]))
const values = (m: Map<string, Tensor>, k: string): number[] => Array.from(m.get(k)!.data)
/** Runs one step per gradient list on a one-parameter store "w" and returns w. */
function run(opt: Optimizer, p0: number[], gradients: number[][]): number[] {
  const params = store({ w: p0 })
  for (const g of gradients) opt.step(params, store({ w: g }))
  return values(params, "w")
}

describe("Adam, hand-worked (betas [0.5, 0.5], eps 0, lr 1)", () => {
  const o = { lr: 1, betas: [0.5, 0.5] as [number, number], eps: 0 }

  it("step 1 moves by lr * sign(g); step 2 by (lr / bc1) * m / (sqrt(v) / sqrt(bc2))", () => {
    // t=1, g=2: m = 0.5*2 = 1, v = 0.5*4 = 2, bc1 = bc2 = 0.5:
    //   p = 0 - (1/0.5) * 1 / (sqrt(2)/sqrt(0.5)) = -2 * 1 / 2 = -1
    expect(run(new Adam(o), [0], [[2]])).toEqual([-1])
    // t=2, g=4: m = 0.5 + 2 = 2.5, v = 1 + 8 = 9, bc1 = bc2 = 0.75:
    //   update = (1/0.75) * 2.5 / (3/sqrt(0.75)) = (10/9) * sqrt(0.75)... = 5*sqrt(3)/9
    expect(run(new Adam(o), [0], [[2], [4]])[0]).toBeCloseTo(-1 - (5 * Math.sqrt(3)) / 9, 14)
  })

  it("amsgrad divides by the running max of v", () => {
    // t=2, g=0: m = 0.5, v = 1 but s = max(2, 1) = 2: update = (4/3) * 0.5 / sqrt(2/0.75) = sqrt(6)/6
    expect(run(new Adam({ ...o, amsgrad: true }), [0], [[2], [0]])[0]).toBeCloseTo(-1 - Math.sqrt(6) / 6, 14)
    // without amsgrad: update = (4/3) * 0.5 / sqrt(1/0.75) = 1/sqrt(3)
    expect(run(new Adam(o), [0], [[2], [0]])[0]).toBeCloseTo(-1 - 1 / Math.sqrt(3), 14)
  })

  it("Adam adds weight_decay * p to the gradient; AdamW decays p by (1 - lr * wd) first", () => {
    // Adam: g' = 1 + 0.5*1 = 1.5, first step moves by lr = 0.1: p = 0.9
    expect(run(new Adam({ ...o, lr: 0.1, weight_decay: 0.5 }), [1], [[1]])[0]).toBeCloseTo(0.9, 15)
    // AdamW: p = 1 * (1 - 0.1*0.5) = 0.95, then the Adam step on g = 1: p = 0.85
    expect(run(new AdamW({ ...o, lr: 0.1, weightDecay: 0.5 }), [1], [[1]])[0]).toBeCloseTo(0.85, 15)
  })

  it("has torch.optim's defaults (AdamW: weight_decay 1e-2)", () => {
    expect(new Adam().paramGroups[0]).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false })
    expect(new AdamW().paramGroups[0].weightDecay).toBe(1e-2)
  })

  it("updates in place, allocating its buffers once", () => {
    const w = tensor([1, 2], [2], "float32")
    const params = new Map([["w", w]])
    const opt = new Adam({ lr: 0.1 })
    opt.step(params, new Map([["w", tensor([1, -1], [2], "float32")]]))
    const m = opt.stateBuffer("w", "exp_avg")!.data
    expect(m).toBeInstanceOf(Float32Array)
    opt.step(params, new Map([["w", tensor([1, -1], [2], "float32")]]))
    expect(opt.stateBuffer("w", "exp_avg")!.data).toBe(m)
    expect(params.get("w")).toBe(w)
  })
})

describe("RMSprop, hand-worked (alpha 0.5, eps 0, lr 1, g = 2 twice)", () => {
  const o = { lr: 1, alpha: 0.5, eps: 0 }

  it("plain: p -= lr * g / sqrt(v), v = alpha v + (1 - alpha) g^2", () => {
    // t=1: v = 2, p = -2/sqrt(2) = -sqrt(2); t=2: v = 1 + 2 = 3, p -= 2/sqrt(3)
    expect(run(new RMSprop(o), [0], [[2], [2]])[0]).toBeCloseTo(-Math.SQRT2 - 2 / Math.sqrt(3), 14)
  })

  it("centered subtracts the squared mean gradient", () => {
    // t=1: v = 2, a = 1, avg = sqrt(2 - 1) = 1: p = -2
    expect(run(new RMSprop({ ...o, centered: true }), [0], [[2]])).toEqual([-2])
  })

  it("momentum: buf = mu * buf + g / avg (buf starts at 0), p -= lr * buf", () => {
    // t=1: buf = 2/sqrt(2) = sqrt(2); t=2: buf = 0.5*sqrt(2) + 2/sqrt(3)
    const want = -Math.SQRT2 - (0.5 * Math.SQRT2 + 2 / Math.sqrt(3))
    expect(run(new RMSprop({ ...o, momentum: 0.5 }), [0], [[2], [2]])[0]).toBeCloseTo(want, 14)
  })

  it("weight decay adds weight_decay * p to the gradient", () => {
    // g' = 1 + 1*1 = 2 at p = 1: v = 2, p = 1 - 2/sqrt(2)
    expect(run(new RMSprop({ ...o, weight_decay: 1 }), [1], [[1]])[0]).toBeCloseTo(1 - Math.SQRT2, 15)
  })

  it("has torch.optim's defaults", () => {
    expect(new RMSprop().paramGroups[0]).toEqual({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false })
  })
})

describe("Adagrad, hand-worked (lr 1, eps 0)", () => {
  it("sum starts at initial_accumulator_value; clr = lr / (1 + (t - 1) lr_decay)", () => {
    const opt = new Adagrad({ lr: 1, eps: 0, initial_accumulator_value: 1, lr_decay: 1 })
    // t=1, g=1: sum = 1 + 1 = 2, p = -1/sqrt(2); t=2: clr = 1/(1 + 1) = 0.5, sum = 3, p -= 0.5/sqrt(3)
    expect(run(opt, [0], [[1], [1]])[0]).toBeCloseTo(-1 / Math.SQRT2 - 0.5 / Math.sqrt(3), 15)
  })

  it("weight decay, and the default eps 1e-10 outside the root", () => {
    // g' = 1 + 0.5*2 = 2, sum = 4: p = 2 - 0.1 * 2 / (2 + 1e-10)
    expect(run(new Adagrad({ lr: 0.1, weightDecay: 0.5 }), [2], [[1]])[0]).toBeCloseTo(2 - 0.1 * (2 / (2 + 1e-10)), 15)
    expect(new Adagrad().paramGroups[0]).toEqual({ lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 })
  })
})

describe("parameter groups", () => {
  it("a group overrides options for the parameters it selects (no weight decay on biases)", () => {
    const params = store({ "fc.weight": [1], "fc.bias": [1] })
    const opt = new SGD({ lr: 0.1, weight_decay: 1, groups: [{ params: isBiasOrNorm, weightDecay: 0 }] })
    opt.step(params, store({ "fc.weight": [0], "fc.bias": [0] }))
    // weight: d = 0 + 1*1 -> 0.9; bias: d = 0 -> 1
    expect(values(params, "fc.weight")).toEqual([0.9])
    expect(values(params, "fc.bias")).toEqual([1])
    expect(opt.groupOf("fc.bias")).toBe(1)
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.1, weightDecay: 0 })
  })

  it("lr sets every group's lr; a list of names selects too", () => {
    const opt = new Adam({ lr: 0.1, groups: [{ params: ["b"], lr: 0.5 }] })
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.1, 0.5])
    opt.lr = 0.01
    expect(opt.lr).toBe(0.01)
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.01, 0.01])
  })

  it("a parameter in two groups is an AttrError", () => {
    const opt = new Adam({ groups: [{ params: ["a"] }, { params: (n) => n === "a" }] })
    expect(() => opt.step(store({ a: [1] }), store({ a: [1] }))).toThrow(/selected by groups 1 and 2/)
  })
})

describe("validation", () => {
  it("rejects bad hyper-parameters with AttrError naming them", () => {
    expect(() => new Adam({ betas: [1, 0.999] })).toThrow(/betas\[0\] = 1/)
    expect(() => new Adam({ eps: -1 })).toThrow(AttrError)
    expect(() => new AdamW({ lr: -1 })).toThrow(/invalid learning rate/)
    expect(() => new RMSprop({ alpha: -0.1 })).toThrow(/alpha/)
    expect(() => new Adagrad({ lr_decay: -1 })).toThrow(/lr_decay/)
    expect(() => new Adagrad({ lrDecay: 1, lr_decay: 2 })).toThrow(/disagree/)
    expect(() => new Adam({ weight_decy: 0.1 } as object)).toThrow(/unknown option 'weight_decy'/)
    expect(() => optimizerFromSpec({ type: "lbfgs" })).toThrow(/expected sgd, adam/)
    expect(() => optimizerFromSpec({ type: "adam", maximize: true })).toThrow(/maximize/)
  })

  it("a bad gradient is a FeedError and leaves the store untouched", () => {
    const params = store({ w: [1, 2] })
    const opt = new RMSprop()
    expect(() => opt.step(params, store({ w: [1, 1], nope: [1] }))).toThrow(FeedError)
    expect(() => opt.step(params, store({ w: [1] }))).toThrow(/expected the parameter's shape \[2\]/)
    expect(values(params, "w")).toEqual([1, 2])
  })
})

describe("state dicts", () => {
  const gradients = [[0.5, -1], [0.25, 2], [-1, 0.5], [2, 2], [0.1, -0.3], [1, 1]]
  const makers: [string, () => Optimizer][] = [
    ["sgd", () => new SGD({ lr: 0.1, momentum: 0.9, nesterov: true })],
    ["adam", () => new Adam({ lr: 0.1, amsgrad: true, weight_decay: 0.01 })],
    ["adamw", () => new AdamW({ lr: 0.1 })],
    ["rmsprop", () => new RMSprop({ lr: 0.01, momentum: 0.9, centered: true })],
    ["adagrad", () => new Adagrad({ lr: 0.1, lr_decay: 0.1, initial_accumulator_value: 0.5 })],
  ]
  for (const [name, make] of makers) {
    it(`${name}: save after 3 steps, load into a fresh one (meta through JSON), same result bit for bit`, () => {
      const straight = run(make(), [1, -1], gradients)
      const a = make()
      const params = store({ w: [1, -1] })
      for (const g of gradients.slice(0, 3)) a.step(params, store({ w: g }))
      const saved = a.stateDict()
      const b = make()
      b.loadStateDict({ meta: JSON.parse(JSON.stringify(saved.meta)), tensors: saved.tensors })
      for (const g of gradients.slice(3)) b.step(params, store({ w: g }))
      expect(values(params, "w")).toEqual(straight)
    })
  }

  it("restores group hyper-parameters (a schedule's lr) and rejects another optimizer's state", () => {
    const a = new Adam({ lr: 0.1 })
    a.lr = 0.05
    const b = new Adam({ lr: 0.1 })
    b.loadStateDict(a.stateDict())
    expect(b.lr).toBe(0.05)
    expect(() => new AdamW().loadStateDict(a.stateDict())).toThrow(FormatError)
    expect(() => new Adam({ groups: [{ params: ["x"] }] }).loadStateDict(a.stateDict())).toThrow(/1 parameter groups \(expected 2\)/)
  })
})
