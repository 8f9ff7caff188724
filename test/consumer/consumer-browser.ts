// A strict TypeScript consumer of the browser-safe entry points, type-checked by run.mjs
// against the installed tarball (moduleResolution nodenext and bundler, strict,
// noUncheckedIndexedAccess, no skipLibCheck). It is never run: only its types matter.
import {
  GraphBuilder,
  SGD,
  Trainer,
  avgPool2d,
  compile,
  conv2d,
  crossEntropy,
  defineOp,
  flatten,
  formatGraph,
  grad,
  initParameters,
  lenet5,
  linear,
  maxPool2d,
  mseLoss,
  relu,
  summary,
  tensor,
  toDot,
  type Tensor,
} from "dagrad"
import { decodeCheckpoint, encodeCheckpoint } from "dagrad/io"
import { heatmapSvg, inspectRouting } from "dagrad/inspect"
import { checkTieAwareGradients } from "dagrad/research"
import { checkGradients, type GradCheckReport } from "dagrad/testing"

const g = new GraphBuilder({ dtype: "float32" })
const x = g.input("x", [2, 1, 8, 8])
const labels = g.input("labels", [2], "int32")
const h = avgPool2d(maxPool2d(relu(conv2d(x, g.param("w", [2, 1, 3, 3]), g.param("b", [2]))), { kernel_size: 2 }), { kernel_size: 1 })
const logits = linear(flatten(h, 1), g.param("fc", [3, 2 * 3 * 3]))
const loss = crossEntropy(logits, labels)
const backward = grad(g.graph, loss.ref, [{ node: "w", output: "y" }])
const plan = compile(backward.graph, [loss.ref, ...backward.grads])
const text: string = formatGraph(backward.graph) + toDot(g.graph)
const out: Tensor[] = plan.run({ x: tensor(new Float32Array(128), [2, 1, 8, 8]), labels: tensor([0, 1], [2], "int32") })
const first: Tensor | undefined = out[0] // noUncheckedIndexedAccess: an index may be out of range
const value: number | undefined = first?.data[0]

const model = lenet5()
const params: Map<string, Tensor> = initParameters(model, { seed: 1 })
const trainer = new Trainer({ model, params, optimizer: new SGD({ lr: 0.01 }) })
const stepLoss: number = trainer.step(tensor(new Float32Array(28 * 28), [1, 1, 28, 28]), tensor([3], [1], "int32"))
const totalParams: number = summary(model).totalParams

const report: GradCheckReport = checkGradients(({ a }) => mseLoss(relu(a!), a!), { a: tensor([0.5, -0.25], [2], "float64") })
const ok: boolean = report.ok && checkTieAwareGradients(({ a }) => relu(a!), { a: tensor([0.5, -0.25], [2], "float64") }).ok
const bytes: Uint8Array = encodeCheckpoint({ tensors: params, meta: { step: 1 } })
const restored: ReadonlyMap<string, Tensor> = decodeCheckpoint(bytes).tensors
const svgs: string[] = inspectRouting(g.graph, {}).map(() => "")
const svg: typeof heatmapSvg = heatmapSvg
const op: typeof defineOp = defineOp

// @ts-expect-error: shapes are numbers (the declarations are real types, not `any`)
tensor([1], ["1"])

export { text, value, stepLoss, totalParams, ok, restored, svgs, svg, op }
