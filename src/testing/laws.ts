import { compile } from "../exec/plan.ts"
import { GraphBuilder } from "../graph/builder.ts"
import { castTensor, cloneTensor, type Tensor } from "../tensor/tensor.ts"
import { checkGradients, type GradCheckOptions, type GraphFunction } from "./gradcheck.ts"

/** What {@link checkOpLaws} returns: whether every law held, and one line per violation. */
export interface OpLawReport {
  readonly ok: boolean
  /** One line per violated law. */
  readonly violations: readonly string[]
}

/**
 * The generic law every op must satisfy (DESIGN "Tests"): the output has the inferred
 * shape, two runs give identical bits, the kernel leaves its inputs untouched, and (unless
 * `gradient: false`) the gradient agrees with central finite differences in float64.
 * Use it with inputs away from kinks and ties (see distinctTensorArb).
 *
 * @example
 * const r = checkOpLaws(({ x }) => softmax(x, 1), { x })
 * expect(r.violations).toEqual([])
 */
export function checkOpLaws(
  fn: GraphFunction,
  inputs: { readonly [name: string]: Tensor },
  options: GradCheckOptions & { readonly gradient?: boolean } = {},
): OpLawReport {
  const violations: string[] = []
  const feeds: { [name: string]: Tensor } = {}
  for (const [n, t] of Object.entries(inputs)) feeds[n] = t.dtype === "int32" ? t : castTensor(t, "float64")
  const originals = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, cloneTensor(t)]))
  const b = new GraphBuilder({ dtype: "float64", registry: options.registry })
  const values = Object.fromEntries(Object.entries(feeds).map(([n, t]) => [n, b.input(n, t.shape, t.dtype)]))
  const y = fn(values, b)
  const plan = compile(b.graph, [y])
  const [first] = plan.run(feeds)
  const firstCopy = cloneTensor(first)
  const [second] = plan.run(feeds)
  if (first.shape.join() !== y.shape.join()) violations.push(`output shape [${first.shape}] differs from the inferred [${y.shape}]`)
  for (let i = 0; i < firstCopy.data.length; i++) {
    if (!Object.is(firstCopy.data[i], second.data[i]) && !(Number.isNaN(firstCopy.data[i]) && Number.isNaN(second.data[i]))) {
      violations.push(`two runs differ at element ${i}: ${firstCopy.data[i]} vs ${second.data[i]}`)
      break
    }
  }
  for (const [n, t] of Object.entries(feeds)) {
    const o = originals[n]
    if (t.data.some((v, i) => !Object.is(v, o.data[i]) && !(Number.isNaN(v) && Number.isNaN(o.data[i])))) violations.push(`the kernel wrote into input '${n}'`)
  }
  if (options.gradient !== false) {
    const report = checkGradients(fn, feeds, options)
    if (!report.ok) violations.push(`gradient: ${report.summary}`)
  }
  return { ok: violations.length === 0, violations }
}
