import { describe, expect, it } from "vitest"
import { GraphBuilder, compile, gradValues, maxPool2dWithIndices, type Tensor } from "../../../src/index.ts"
import { parallelBackend } from "../../../src/exec/parallel.ts"
import { onThreads } from "../../helpers.ts"
import { Random } from "../../../src/tensor/random.ts"

describe("max_pool2d on the thread pool", () => {
  it("gives the same bits with 1 and 2 threads (forward values, indices, backward)", async () => {
    const shape = [4, 32, 48, 48]
    const n = shape.reduce((a, d) => a * d, 1)
    const rng = new Random(7)
    // tie-heavy values (post-relu-like zeros) plus a few NaN
    const values = Float32Array.from({ length: n }, (_, i) => (i % 997 === 0 ? NaN : Math.max(0, Math.round(rng.uniform(-3, 3)))))
    const upstream = Float32Array.from({ length: n / 4 }, () => rng.uniform(-1, 1))
    const runOnce = (): Tensor[] => {
      const b = new GraphBuilder({ dtype: "float32" })
      const x = b.input("x", shape)
      const gy = b.input("gy", [4, 32, 24, 24])
      const { y, indices } = maxPool2dWithIndices(x, { kernel_size: 2 })
      const [dx] = gradValues(b, y, [x], { seed: gy })
      const backend = parallelBackend()
      const shared = (a: Float32Array): Float32Array => {
        if (backend === undefined) return a
        const s = backend.allocShared("float32", a.length) as Float32Array
        s.set(a)
        return s
      }
      return compile(b.graph, [y, indices, dx]).run({
        x: { shape, dtype: "float32", data: shared(values) },
        gy: { shape: [4, 32, 24, 24], dtype: "float32", data: shared(upstream) },
      })
    }
    const serial = runOnce()
    const tasks: string[] = []
    const parallel = await onThreads(2, () => {
      const backend = parallelBackend()!
      const post = backend.run.bind(backend)
      backend.run = (task, parts) => {
        tasks.push(task)
        post(task, parts)
      }
      return runOnce()
    })
    expect(tasks).toContain("pool.max2x2")
    expect(tasks).toContain("pool.scatterAdd")
    serial.forEach((t, i) => expect(Array.from(parallel[i].data).map(String)).toEqual(Array.from(t.data).map(String)))
  }, 60000)
})
