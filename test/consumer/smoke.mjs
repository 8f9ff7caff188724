// Run with plain `node` in a fresh project where only the packed tarball (and the optional
// peers) is installed: imports every entry point of package.json `exports`, checks a name
// from each works, and trains a tiny CNN for a few SGD steps with the loss decreasing.
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"

const pkgPath = createRequire(import.meta.url).resolve("dagrad/package.json")
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"))
const entries = Object.keys(pkg.exports).filter((k) => k !== "./package.json")
const modules = {}
for (const entry of entries) {
  const specifier = entry === "." ? "dagrad" : `dagrad/${entry.slice(2)}`
  modules[specifier] = await import(specifier)
  const names = Object.keys(modules[specifier])
  assert.ok(names.length > 0, `${specifier} exports nothing`)
  console.log(`import ${specifier}: ${names.length} names`)
}

const { GraphBuilder, Random, SGD, compile, conv2d, crossEntropy, flatten, grad, linear, maxPool2d, relu, tensor } = modules["dagrad"]
// a tiny CNN built as a graph, differentiated, trained with SGD
const g = new GraphBuilder({ dtype: "float32" })
const x = g.input("x", [8, 1, 12, 12])
const labels = g.input("labels", [8], "int32")
const h = maxPool2d(relu(conv2d(x, g.param("conv.weight", [4, 1, 3, 3]), g.param("conv.bias", [4]), { padding: 1 })), { kernel_size: 2 })
const loss = crossEntropy(linear(flatten(h, 1), g.param("fc.weight", [10, 144]), g.param("fc.bias", [10])), labels)
const names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
const backward = grad(g.graph, loss.ref, names.map((n) => ({ node: n, output: "y" })))
const plan = compile(backward.graph, [loss.ref, ...backward.grads])
const rng = new Random(0)
const init = (shape, bound) => tensor(Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.uniform(-bound, bound)), shape)
const params = new Map([["conv.weight", init([4, 1, 3, 3], 1 / 3)], ["conv.bias", init([4], 1 / 3)], ["fc.weight", init([10, 144], 1 / 12)], ["fc.bias", init([10], 1 / 12)]])
const feeds = { x: init([8, 1, 12, 12], 1), labels: tensor([0, 1, 2, 3, 4, 5, 6, 7], [8], "int32") }
const sgd = new SGD({ lr: 0.1, momentum: 0.9 })
const losses = []
for (let step = 0; step < 5; step++) {
  const [l, ...grads] = plan.run(feeds, params)
  losses.push(l.data[0])
  sgd.step(params, new Map(names.map((n, i) => [n, grads[i]])))
}
console.log(`tiny CNN, 5 SGD steps: loss ${losses.map((l) => l.toFixed(4)).join(" -> ")}`)
for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], `loss did not decrease at step ${i}: ${losses}`)

// the byte codecs (dagrad/io) round-trip a checkpoint
const { encodeCheckpoint, decodeCheckpoint } = modules["dagrad/io"]
const back = decodeCheckpoint(encodeCheckpoint({ tensors: params, meta: { steps: 5 } }))
assert.deepEqual(Array.from(back.tensors.get("fc.bias").data), Array.from(params.get("fc.bias").data))

// the worker-thread pool (dagrad/node) starts its compiled worker with plain node, and a
// LeNet-5 step on two threads gives the one-thread loss bit for bit
const { startThreadPool } = modules["dagrad/node"]
const { lenetSteps } = await import("./lenet-step.mjs")
const one = lenetSteps({ seed: 7, steps: 2 })
const pool = await startThreadPool(2)
const two = lenetSteps({ seed: 7, steps: 2 })
await pool.close()
assert.deepEqual(two.bits, one.bits)
console.log(`LeNet-5 on 2 threads: same loss bits as 1 thread (${one.bits.join(", ")})`)
