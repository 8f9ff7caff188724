// Helpers shared by op tests: build a graph on named inputs and run it.
import { GraphBuilder, compile, tensor, type Tensor, type Value } from "../src/index.ts"
export { randomTensor } from "../src/testing/tensors.ts"

/** Builds `build` on graph inputs named like `inputs` in `dtype`, runs it, returns y. */
export function forward(build: (v: { [k: string]: Value }) => Value, inputs: { [k: string]: Tensor }, dtype: "float32" | "float64" = "float64"): Tensor {
  const b = new GraphBuilder({ dtype })
  const values: { [k: string]: Value } = {}
  for (const [k, t] of Object.entries(inputs)) values[k] = b.input(k, t.shape)
  const y = build(values)
  const feeds: { [k: string]: Tensor } = {}
  for (const [k, t] of Object.entries(inputs)) feeds[k] = tensor(t.data, t.shape, dtype)
  return compile(b.graph, [y]).run(feeds)[0]
}
