/**
 * dagrad cases built from src/nn (W1, W4: lenet5 + Trainer + SGD; W2: the MaxPool2d
 * layer). Loaded lazily by the dagrad adapter so W3/GEMM still run while the model layer
 * or an op it needs is missing.
 */
import { GraphBuilder, compile, gradValues, type Tensor } from "../../src/index.ts"
import { threadCount } from "../../src/exec/parallel.ts"
import { MaxPool2d, Trainer, lenet5, namedParameters } from "../../src/nn/index.ts"
import { SGD } from "../../src/optim/index.ts"
import { LENET_SHAPES, lenetBatch, lenetParams, w2Data } from "../lib/data.ts"
import type { BenchCase, CaseResult, WorkloadId } from "../lib/workloads.ts"
import { engineLabels, engineTensor, planOutputs } from "./dagrad-ops.ts"

/** A LeNet-5 trainer whose parameter store holds the shared initial weights. */
export function lenetTrainer(lr = 0.01): Trainer {
  const model = lenet5()
  const expected = LENET_SHAPES.map(([n, s]) => `${n}[${s.join(",")}]`).join(" ")
  const actual = namedParameters(model)
    .map((p) => `${p.name}[${p.shape.join(",")}]`)
    .join(" ")
  if (actual !== expected) throw new Error(`lenet5() parameters are ${actual} (expected ${expected})`)
  const params = new Map<string, Tensor>()
  for (const [name, t] of lenetParams()) params.set(name, engineTensor(t))
  return new Trainer({ model, params, optimizer: new SGD({ lr }) })
}

export function createNnCase(workload: WorkloadId): CaseResult | undefined {
  const base = { system: "dagrad" as const, workload, threads: threadCount() }
  switch (workload) {
    case "W1": {
      const trainer = lenetTrainer()
      const { x, labels } = lenetBatch(64)
      const xt = engineTensor(x)
      const lt = engineLabels(labels)
      return { ...base, step: () => trainer.step(xt, lt) } satisfies BenchCase
    }
    case "W4": {
      const trainer = lenetTrainer()
      const xt = engineTensor(lenetBatch(256).x)
      return {
        ...base,
        step() {
          trainer.predict(xt)
        },
        outputs: () => ({ y: Float32Array.from(trainer.predict(xt).data) }),
      } satisfies BenchCase
    }
    case "W2": {
      const d = w2Data()
      const b = new GraphBuilder({ dtype: "float32" })
      const x = b.input("x", d.x.shape)
      const gy = b.input("gy", d.gy.shape)
      const y = new MaxPool2d(2, { stride: 2 }).forward(x)
      // the backward node reads the argmax the forward node saved (max_pool2d's `indices`)
      const [dx] = gradValues(b, y, [x], { seed: gy })
      const plan = compile(b.graph, [y, dx])
      const feeds = { x: engineTensor(d.x), gy: engineTensor(d.gy) }
      return {
        ...base,
        step() {
          plan.recycle(plan.run(feeds))
        },
        outputs: () => planOutputs(plan, feeds, ["y", "dx"]),
      } satisfies BenchCase
    }
    default:
      return undefined
  }
}
