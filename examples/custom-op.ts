/**
 * A custom op, written exactly like dagrad's built-ins: Swish, y = x * sigmoid(x).
 *
 *   npx tsx examples/custom-op.ts
 *
 * 1. defineOp: attrs, shape inference, a kernel, and a gradient rule built from other ops
 *    (so the backward graph is an ordinary graph, printable and differentiable again).
 * 2. The finite-difference checker confirms the gradient (and the second derivative).
 * 3. A tiny model using the op is trained with plain gradient descent.
 */
import { GraphBuilder, add, addScalar, compile, defineOp, formatGraph, gradValues, mean, mul, neg, pow, sigmoid, sub, sum, tensor, Random, scale, type Tensor, type Value } from "dagrad"
import { checkGradients } from "dagrad/testing"

type SwishAttrs = { beta: number }

/** Swish (Ramachandran et al. 2017): x * sigmoid(beta * x). */
export const swishOp = defineOp({
  name: "swish",
  doc: "x * sigmoid(beta * x)",
  inputs: ["x"],
  outputs: ["y"],
  attrs: (raw: { beta?: number }): SwishAttrs => {
    const beta = raw.beta ?? 1
    if (!Number.isFinite(beta)) throw new Error(`beta = ${beta} (expected a finite number)`)
    return { beta }
  },
  infer: ({ x }) => ({ y: x }),
  kernel: ({ inputs: { x }, outputs: { y }, attrs: { beta } }) => {
    const xs = x.data
    const out = y.data
    for (let i = 0; i < out.length; i++) out[i] = xs[i] / (1 + Math.exp(-beta * xs[i]))
  },
  // d/dx [x s(bx)] = s(bx) + b x s(bx) (1 - s(bx)), with s the logistic sigmoid
  grad: ({ inputs: { x }, grads: { y: gy }, attrs: { beta } }) => {
    const bx = scale(x, beta)
    const s = sigmoid(bx)
    const slope = add(s, mul(mul(bx, s), addScalar(neg(s), 1)))
    return { x: mul(gy!, slope) }
  },
})

export const swish = (x: Value, beta = 1): Value => x.builder.apply(swishOp, { x }, { beta }).y

export function main(log: (s: string) => void = console.log): { gradientOk: boolean; secondOk: boolean; lossStart: number; lossEnd: number } {
  // 2. gradient check in float64 against central differences
  const x = tensor([-2.1, -0.7, 0.03, 0.9, 3.2], [5], "float64")
  const first = checkGradients(({ x }) => swish(x, 1.5), { x })
  log(`gradient check: ${first.summary}`)
  const second = checkGradients(({ x }, b) => gradValues(b, sum(swish(x)), [x])[0], { x })
  log(`second derivative check: ${second.summary}`)

  // 3. fit y = swish(w * x + c) to data made by w = 2, c = -1 with gradient descent
  const rng = new Random(7)
  const n = 64
  const xs = Array.from({ length: n }, () => rng.uniform(-2, 2))
  const ys = xs.map((v) => {
    const z = 2 * v - 1
    return z / (1 + Math.exp(-z))
  })
  const g = new GraphBuilder({ dtype: "float64" })
  const input = g.input("x", [n])
  const target = g.input("target", [n])
  const w = g.param("w", [1])
  const c = g.param("c", [1])
  const loss = mean(pow(sub(swish(add(mul(input, w), c)), target), 2))
  const [dw, dc] = gradValues(g, loss, [w, c])
  const plan = compile(g.graph, [loss, dw, dc])
  const params = new Map<string, Tensor>([
    ["w", tensor([0.5], [1], "float64")],
    ["c", tensor([0], [1], "float64")],
  ])
  const feeds = { x: tensor(xs, [n], "float64"), target: tensor(ys, [n], "float64") }
  let lossStart = NaN
  let lossEnd = NaN
  for (let step = 0; step < 300; step++) {
    const [l, gw, gc] = plan.run(feeds, params)
    if (step === 0) lossStart = l.data[0]
    lossEnd = l.data[0]
    params.get("w")!.data[0] -= 0.2 * gw.data[0]
    params.get("c")!.data[0] -= 0.2 * gc.data[0]
    if (step % 100 === 0) log(`step ${step}: loss ${l.data[0].toExponential(3)}`)
  }
  log(`fitted w = ${params.get("w")!.data[0].toFixed(4)} (true 2), c = ${params.get("c")!.data[0].toFixed(4)} (true -1); loss ${lossStart.toExponential(3)} -> ${lossEnd.toExponential(3)}`)
  log("\nthe backward graph of the loss (gradient nodes marked [grad]):\n" + formatGraph(g.graph))
  return { gradientOk: first.ok, secondOk: second.ok, lossStart, lossEnd }
}

if (import.meta.url === `file://${process.argv[1]}`) main()
