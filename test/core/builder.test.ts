import { describe, expect, it } from "vitest"
import { AttrError, GraphBuilder, GraphError, ShapeError, add, defineOp, mul, pow, reshape, sum } from "../../src/index.ts"

describe("GraphBuilder", () => {
  it("infers shapes at build time with broadcasting", () => {
    const g = new GraphBuilder()
    const y = add(g.input("a", [2, 1, 4]), g.input("b", [3, 1]))
    expect(y.shape).toEqual([2, 3, 4])
    expect(y.dtype).toBe("float32")
  })

  it("names the node, op and input shapes when shapes do not fit", () => {
    const g = new GraphBuilder()
    const a = g.input("a", [2, 3])
    const b = g.input("b", [4])
    expect(() => mul(a, b)).toThrow(ShapeError)
    expect(() => mul(a, b)).toThrow(/node 'mul_\d+' op mul: shapes \[2, 3\] and \[4\] do not broadcast.*inputs a: \[2, 3\] float32, b: \[4\] float32/)
  })

  it("rejects a reshape that changes the element count, saying what it expected", () => {
    const g = new GraphBuilder()
    expect(() => reshape(g.input("x", [2, 3]), [4, 2])).toThrow(/cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\] \(expected the same number of elements\)/)
  })

  it("rejects mixing float dtypes in one graph", () => {
    const g = new GraphBuilder({ dtype: "float64" })
    expect(() => g.input("x", [2], "float32")).toThrow(GraphError)
    expect(() => g.input("x", [2], "float32")).toThrow(/dtype float32 in a float64 graph/)
    expect(g.input("labels", [2], "int32").dtype).toBe("int32")
  })

  it("rejects elementwise math on int32 tensors", () => {
    const g = new GraphBuilder()
    expect(() => add(g.input("i", [2], "int32"), g.input("x", [2]))).toThrow(/input 'a' is int32 \(expected a float tensor\)/)
  })

  it("rejects values of another builder, duplicate names, bad attrs", () => {
    const g1 = new GraphBuilder()
    const g2 = new GraphBuilder()
    const x1 = g1.input("x", [2])
    const x2 = g2.input("x", [2])
    expect(() => add(x1, x2)).toThrow(/belongs to another graph builder/)
    expect(() => g1.input("x", [3])).toThrow(/a node named 'x' already exists/)
    expect(() => pow(x1, Number.NaN)).toThrow(AttrError)
    expect(() => g1.input("bad", [2, -1])).toThrow(/invalid dimension -1/)
  })

  it("keeps every snapshot immutable: later nodes do not change an earlier graph", () => {
    const g = new GraphBuilder()
    const x = g.input("x", [3])
    const before = g.graph
    sum(x)
    expect(Object.keys(before.nodes)).toEqual(["x"])
    expect(Object.keys(g.graph.nodes)).toHaveLength(2)
    expect(Object.isFrozen(before.nodes)).toBe(true)
    expect(Object.isFrozen(g.graph.nodes.x)).toBe(true)
  })

  it("checks inputs of custom ops like built-ins: missing, unknown", () => {
    const twice = defineOp({
      name: "twice_test",
      inputs: ["x"],
      outputs: ["y"],
      infer: ({ x }) => ({ y: x }),
      kernel: ({ inputs: { x }, outputs: { y } }) => {
        for (let i = 0; i < x.data.length; i++) y.data[i] = 2 * x.data[i]
      },
    })
    const g = new GraphBuilder()
    const x = g.input("x", [2])
    expect(() => g.apply(twice, {} as { x: typeof x })).toThrow(/missing required input 'x'/)
    expect(() => g.apply(twice, { x, z: x } as { x: typeof x })).toThrow(/unknown input 'z'/)
    expect(g.apply(twice, { x }).y.shape).toEqual([2])
    expect(g.graph.registry.ops.twice_test).toBe(twice)
  })

  it("refuses two different ops with the same name", () => {
    const make = () =>
      defineOp({ name: "dup_test", inputs: ["x"], outputs: ["y"], infer: ({ x }) => ({ y: x }), kernel: () => {} })
    const g = new GraphBuilder()
    const x = g.input("x", [1])
    g.apply(make(), { x })
    expect(() => g.apply(make(), { x })).toThrow(/two different ops are named 'dup_test'/)
  })
})
