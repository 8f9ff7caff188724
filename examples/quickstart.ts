/**
 * The README's first example: build a small CNN as a graph, differentiate it, take SGD steps.
 *   npx tsx examples/quickstart.ts
 */
import { GraphBuilder, Random, SGD, compile, conv2d, crossEntropy, flatten, formatGraph, grad, linear, maxPool2d, relu, tensor } from "dagrad"

const g = new GraphBuilder({ dtype: "float32" })                  // nothing runs while building
const x = g.input("x", [8, 1, 12, 12])                            // shapes are inferred at every node
const labels = g.input("labels", [8], "int32")
const h = maxPool2d(relu(conv2d(x, g.param("conv.weight", [4, 1, 3, 3]), g.param("conv.bias", [4]), { padding: 1 })), { kernel_size: 2 })
const logits = linear(flatten(h, 1), g.param("fc.weight", [10, 4 * 6 * 6]), g.param("fc.bias", [10]))
const loss = crossEntropy(logits, labels)
const names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
const backward = grad(g.graph, loss.ref, names.map((n) => ({ node: n, output: "y" })))  // a NEW graph
const plan = compile(backward.graph, [loss.ref, ...backward.grads])

const rng = new Random(0)
const init = (shape: number[], bound: number) => tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform(-bound, bound)), shape)
const params = new Map([["conv.weight", init([4, 1, 3, 3], 1 / 3)], ["conv.bias", init([4], 1 / 3)], ["fc.weight", init([10, 144], 1 / 12)], ["fc.bias", init([10], 1 / 12)]])
const feeds = { x: init([8, 1, 12, 12], 1), labels: tensor([0, 1, 2, 3, 4, 5, 6, 7], [8], "int32") }
const sgd = new SGD({ lr: 0.1, momentum: 0.9 })
for (let step = 0; step < 20; step++) {
  const [l, ...grads] = plan.run(feeds, params)                   // forward + backward
  sgd.step(params, new Map(names.map((n, i) => [n, grads[i]])))   // in place on the store
  if (step % 5 === 0) console.log(`step ${step}: loss ${l.data[0].toFixed(4)}`)
}
if (process.argv.includes("--print")) console.log(formatGraph(backward.graph))
