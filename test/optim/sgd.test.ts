import { describe, expect, it } from "vitest"
import { AttrError, FeedError, FormatError, Random, tensor, type Tensor } from "../../src/index.ts"
import { SGD, type SGDOptions } from "../../src/optim/index.ts"

const f64 = (values: number[]): Tensor => tensor(values, [values.length], "float64")
const store = (entries: Record<string, number[]>): Map<string, Tensor> => new Map(Object.entries(entries).map(([k, v]) => [k, f64(v)]))
const grads = (entries: Record<string, number[]>): Map<string, Tensor> => store(entries)
const values = (m: Map<string, Tensor>, k: string): number[] => Array.from(m.get(k)!.data)

/** The README's SGD pseudo-code, literally, on plain arrays (one parameter). */
function referenceSGD(o: Required<Omit<SGDOptions, "weightDecay">>, p0: number[], gradSeq: number[][]): number[] {
  const p = [...p0]
  let buf: number[] | undefined
  gradSeq.forEach((g, step) => {
    const d = g.map((gi, i) => gi + o.weight_decay * p[i])
    let upd = d
    if (o.momentum !== 0) {
      buf = step === 0 ? [...d] : buf!.map((b, i) => o.momentum * b + (1 - o.dampening) * d[i])
      upd = o.nesterov ? d.map((di, i) => di + o.momentum * buf![i]) : buf
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i] - o.lr * upd[i]
  })
  return p
}

describe("SGD hand-worked updates", () => {
  it("plain SGD: p - lr * g", () => {
    const params = store({ w: [1, -2] })
    new SGD({ lr: 0.1 }).step(params, grads({ w: [0.5, -1] }))
    expect(values(params, "w")).toEqual([1 - 0.1 * 0.5, -2 + 0.1])
  })

  it("weight decay adds weight_decay * p to the gradient", () => {
    const params = store({ w: [1, -2] })
    new SGD({ lr: 0.1, weight_decay: 0.1 }).step(params, grads({ w: [0.5, 0.5] }))
    // d = [0.5 + 0.1, 0.5 - 0.2] = [0.6, 0.3]
    expect(values(params, "w")[0]).toBeCloseTo(0.94, 15)
    expect(values(params, "w")[1]).toBeCloseTo(-2.03, 15)
  })

  it("momentum: first step buf = d (no dampening), then mu * buf + (1 - dampening) * d", () => {
    const params = store({ w: [0] })
    const opt = new SGD({ lr: 1, momentum: 0.9, dampening: 0.5 })
    opt.step(params, grads({ w: [1] })) // buf = 1, p = -1
    expect(values(params, "w")).toEqual([-1])
    expect(Array.from(opt.momentumBuffer("w")!.data)).toEqual([1])
    opt.step(params, grads({ w: [1] })) // buf = 0.9 + 0.5 = 1.4, p = -2.4
    expect(Array.from(opt.momentumBuffer("w")!.data)).toEqual([0.9 * 1 + 0.5 * 1])
    expect(values(params, "w")[0]).toBeCloseTo(-2.4, 15)
    opt.step(params, grads({ w: [2] })) // buf = 1.26 + 1 = 2.26, p = -4.66
    expect(values(params, "w")[0]).toBeCloseTo(-4.66, 14)
  })

  it("nesterov: d + mu * buf, also on the first step", () => {
    const params = store({ w: [0] })
    const opt = new SGD({ lr: 1, momentum: 0.5, nesterov: true })
    opt.step(params, grads({ w: [1] })) // buf = 1, d = 1 + 0.5 = 1.5
    expect(values(params, "w")).toEqual([-1.5])
    opt.step(params, grads({ w: [2] })) // buf = 0.5 + 2 = 2.5, d = 2 + 1.25 = 3.25
    expect(values(params, "w")).toEqual([-4.75])
  })

  it("matches the reference formula over many steps for every option combination", () => {
    const rng = new Random(7)
    const combos: Required<Omit<SGDOptions, "weightDecay">>[] = []
    for (const momentum of [0, 0.9])
      for (const dampening of [0, 0.3])
        for (const weight_decay of [0, 0.01])
          for (const nesterov of [false, true]) {
            if (nesterov && (momentum === 0 || dampening !== 0)) continue
            combos.push({ lr: 0.05, momentum, dampening, weight_decay, nesterov })
          }
    for (const o of combos) {
      const p0 = Array.from({ length: 5 }, () => rng.uniform(-1, 1))
      const seq = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => rng.uniform(-1, 1)))
      const params = store({ p: p0 })
      const opt = new SGD(o)
      for (const g of seq) opt.step(params, grads({ p: g }))
      expect(values(params, "p")).toEqual(referenceSGD(o, p0, seq))
    }
  })

  it("skips parameters without a gradient (PyTorch's grad is None) and keeps their momentum fresh", () => {
    const params = store({ a: [1], b: [1] })
    const opt = new SGD({ lr: 1, momentum: 0.9 })
    opt.step(params, grads({ a: [1] }))
    expect(values(params, "b")).toEqual([1])
    expect(opt.momentumBuffer("b")).toBeUndefined()
    opt.step(params, grads({ a: [1], b: [1] }))
    // b's first step: buf = d
    expect(values(params, "b")).toEqual([0])
    expect(opt.stepCount).toBe(2)
  })

  it("updates float32 stores in place and reuses its momentum buffers", () => {
    const w = tensor([1, 2, 3], [3], "float32")
    const params = new Map([["w", w]])
    const opt = new SGD({ lr: 0.5, momentum: 0.9 })
    opt.step(params, new Map([["w", tensor([1, 1, 1], [3], "float32")]]))
    const buf = opt.momentumBuffer("w")!.data
    expect(buf).toBeInstanceOf(Float32Array)
    opt.step(params, new Map([["w", tensor([1, 1, 1], [3], "float32")]]))
    expect(opt.momentumBuffer("w")!.data).toBe(buf)
    expect(params.get("w")).toBe(w)
    // second step: buf = 0.9 + 1 = 1.9 (stored in float32), p -= 0.5 * 1.9
    const f = Math.fround
    expect(Array.from(w.data)).toEqual([1, 2, 3].map((p0) => f(f(p0 - 0.5) - 0.5 * f(1.9))))
  })
})

describe("SGD state", () => {
  it("export/import resumes bit for bit (also through JSON)", () => {
    const rng = new Random(3)
    const seq = Array.from({ length: 6 }, () => [rng.normal(), rng.normal()])
    const o = { lr: 0.1, momentum: 0.9, dampening: 0.1, weight_decay: 0.01 }
    const straight = store({ p: [0.5, -0.5] })
    const a = new SGD(o)
    for (const g of seq) a.step(straight, grads({ p: g }))

    const resumed = store({ p: [0.5, -0.5] })
    const b = new SGD(o)
    for (const g of seq.slice(0, 3)) b.step(resumed, grads({ p: g }))
    const c = new SGD(o)
    c.importState(JSON.parse(JSON.stringify(b.exportState())))
    expect(c.stepCount).toBe(3)
    for (const g of seq.slice(3)) c.step(resumed, grads({ p: g }))
    expect(values(resumed, "p")).toEqual(values(straight, "p"))
  })

  it("rejects a state saved with other hyper-parameters or malformed", () => {
    const s = new SGD({ lr: 0.1, momentum: 0.9 }).exportState()
    expect(() => new SGD({ lr: 0.1, momentum: 0.5 }).importState(s)).toThrow(FormatError)
    expect(() => new SGD({ lr: 0.1, momentum: 0.9 }).importState({ ...s, type: "adam" as "sgd" })).toThrow(FormatError)
    const bad = { ...s, buffers: { w: { shape: [2], dtype: "float64" as const, data: [1] } } }
    expect(() => new SGD({ lr: 0.1, momentum: 0.9 }).importState(bad)).toThrow(/holds 1 values/)
  })
})

describe("SGD validation", () => {
  it("rejects bad hyper-parameters with AttrError", () => {
    expect(() => new SGD({ lr: -0.1 })).toThrow(AttrError)
    expect(() => new SGD({ lr: NaN })).toThrow(/expected a finite number/)
    expect(() => new SGD({ lr: 0.1, momentum: -1 })).toThrow(AttrError)
    expect(() => new SGD({ lr: 0.1, weight_decay: -1 })).toThrow(/weight decay/)
    expect(() => new SGD({ lr: 0.1, nesterov: true })).toThrow(/nesterov momentum needs momentum > 0/)
    expect(() => new SGD({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(/dampening = 0/)
  })

  it("rejects unknown parameters and wrong gradient shapes, leaving the store untouched", () => {
    const params = store({ w: [1, 2] })
    const opt = new SGD({ lr: 1 })
    expect(() => opt.step(params, grads({ w: [1, 1], nope: [1] }))).toThrow(FeedError)
    expect(() => opt.step(params, grads({ w: [1] }))).toThrow(/expected the parameter's shape \[2\]/)
    expect(values(params, "w")).toEqual([1, 2])
    expect(opt.stepCount).toBe(0)
  })
})
