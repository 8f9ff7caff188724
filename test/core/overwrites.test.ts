import { afterEach, describe, expect, it } from "vitest"
import { poisonUnclearedOutputs } from "../../src/exec/plan.ts"
import { GraphBuilder, compile, defineOp, neg, tensor } from "../../src/index.ts"

// The executor clears output buffers unless an op declares overwritesOutputs; the suite
// runs with poisoning on (test/setup.ts), which this file toggles and restores.
afterEach(() => poisonUnclearedOutputs(true))

/** An op that claims to overwrite its output but writes only the first element. */
const sloppy = defineOp({
  name: "sloppy_test",
  inputs: ["x"],
  outputs: ["y"],
  infer: ({ x }) => ({ y: x }),
  kernel: ({ inputs: { x }, outputs: { y } }) => {
    y.data[0] = x.data[0]
  },
  overwritesOutputs: true,
})

/** The same kernel without the claim: the executor hands it a cleared buffer. */
const honest = defineOp({ ...sloppy, name: "honest_test", overwritesOutputs: undefined })

function twoRuns(op: typeof sloppy) {
  const g = new GraphBuilder({ dtype: "float64" })
  const x = g.input("x", [3])
  // neg's buffer is released before the op runs, so the op's output recycles it
  const y = g.apply(op, { x: neg(neg(x)) }).y
  const plan = compile(g.graph, [y])
  const feeds = { x: tensor([1, 2, 3], [3], "float64") }
  const first = Array.from(plan.run(feeds)[0].data)
  const second = Array.from(plan.run(feeds)[0].data)
  return { first, second }
}

describe("overwritesOutputs", () => {
  it("an op without it gets zero-filled outputs, fresh or recycled", () => {
    const { first, second } = twoRuns(honest)
    expect(first).toEqual([1, 0, 0])
    expect(second).toEqual([1, 0, 0])
  })

  it("with poisoning on, an element the kernel did not write shows up as NaN", () => {
    poisonUnclearedOutputs(true)
    const { first, second } = twoRuns(sloppy)
    expect(first).toEqual([1, NaN, NaN])
    expect(second).toEqual([1, NaN, NaN])
  })

  it("with poisoning off, the executor skips the clearing: recycled contents reach the kernel", () => {
    poisonUnclearedOutputs(false)
    const { second } = twoRuns(sloppy)
    // the recycled buffer held neg(x) = [-1, -2, -3] (or that of the first run's output)
    expect(second[0]).toBe(1)
    expect(second.slice(1).every((v) => v !== 0)).toBe(true)
  })
})
