/**
 * Tie-aware gradient checking. Central differences are the wrong test at a tie or kink:
 * at max(x0, x1) with x0 = x1 they give 1/2 to each, while PyTorch (and any valid
 * subgradient vertex) gives 1 to one of them. This checker finds the non-differentiable
 * points of a graph function — max-pool windows whose maxima are tied within ε, ReLU
 * inputs within ε of 0, NaN/±inf — and checks the analytic gradient there with rules that
 * are valid at kinks:
 *
 *   clarke       the local gradient of every max-pool node is a sum over windows of
 *                "upstream × a convex combination of that window's tied maxima" (the
 *                sum of the windows' Clarke subdifferentials): nothing outside a tie set,
 *                non-negative shares of the upstream that add up to it. For tie "first" /
 *                "last" it must be the specific vertex. Overlapping tied windows are
 *                decided by a small feasibility LP. ReLU: gx = λ gy with λ in [0, 1] at 0.
 *   directional  per coordinate, the analytic partial lies between the one-sided
 *                difference quotients (L(x) - L(x - h e_i)) / h and (L(x + h e_i) - L(x)) / h.
 *                With the default positive upstream, L = Σ u_o max(window o) is convex in
 *                the pooled values, so this is a necessary condition for a subgradient.
 *   nudge        move the input off the tie, in the tie policy's favour (its chosen
 *                element rises by a tiny graded amount), and compare the ORIGINAL analytic
 *                gradient with central differences at the nudged point: the one-sided
 *                limit the policy claims to follow. Only one-sided policies on graph
 *                inputs are nudged (max-pool "first"/"last", ReLU at 0); coordinates that
 *                move a tie left in place (split, all, custom, intermediate values) are
 *                skipped, since no central difference is the right oracle there.
 *
 * The report lists every tie site (node, window, elements) and which rule was applied.
 */
import { gradValues } from "../autodiff/grad.ts"
import { compile } from "../exec/plan.ts"
import type { Attrs } from "../graph/types.ts"
import type { AnyOp, OpDef } from "../graph/op.ts"
import type { Registry } from "../graph/registry.ts"
import { cloneTensor, type Tensor } from "../tensor/tensor.ts"
import { nodeWindowList, resolveTieGeometry, tieSets, type TieGeometry } from "./windows.ts"
import { centralDifferences, scalarProbe, unravel, type GraphFunction } from "../testing/gradcheck.ts"
import type { Value } from "../graph/builder.ts"
import { applyAny, clarkeRule, directionalRule, nudgeRule, type Site, type TieRule, type TieRuleResult } from "./tie-rules.ts"

export type { TieRule, TieRuleResult } from "./tie-rules.ts"


/** One non-differentiable spot the checker found. Element indices are flat into the site's input tensor. */
export interface TieSite {
  readonly kind: "max_pool" | "relu" | "non_finite"
  /** Graph node id (the input's name for non-finite inputs). */
  readonly node: string
  readonly op: string
  /** The graph input the site reads directly, when it does (only those can be nudged). */
  readonly input?: string
  /** Output cell (flat) of a tied max-pool window. */
  readonly window?: number
  readonly elements: readonly number[]
  readonly coords: readonly (readonly number[])[]
  /** The tied maximum, the kink location (0) or the non-finite value. */
  readonly value: number
}


/** What {@link checkTieAwareGradients} returns: the tie sites found, each rule's verdict, the plain finite-difference comparison and a printable summary. */
export interface TieCheckReport {
  /** Every selected rule passed. */
  readonly ok: boolean
  readonly sites: readonly TieSite[]
  readonly rules: readonly TieRuleResult[]
  /** Plain central differences at the same point and upstream, for comparison (expected to fail at ties). */
  readonly plain: { readonly ok: boolean; readonly failures: readonly string[] }
  readonly summary: string
}

/** Options of {@link checkTieAwareGradients} and {@link checkTieAwareOp}: rules, tie tolerance, steps and tolerances. */
export interface TieCheckOptions {
  /** Rules to apply. Default all three. */
  readonly rules?: readonly TieRule[]
  /** ε: window members within ε·max(1, |max|) of the maximum are tied; ReLU inputs with |x| <= ε are at the kink. Default 1e-9. */
  readonly tieTol?: number
  /**
   * Custom ops with a max-pool geometry, e.g. `{ my_pool: "max_pool1d" }` (attrs must be
   * max-pool attrs), or a fractional one (`"fractional_max_pool2d"`: fractional attrs, and
   * the windows come from the node's `samples` / `seed` inputs).
   */
  readonly treatAs?: { readonly [op: string]: TieGeometry }
  /** One-sided difference step (directional). Default 1e-6. */
  readonly step?: number
  /** Central-difference step for the plain comparison. Default 1e-6. */
  readonly eps?: number
  /** Largest nudge. Default 1e-4 (shrunk to a quarter of the smallest gap between distinct input values). */
  readonly nudge?: number
  readonly rtol?: number
  readonly atol?: number
  /** Seed of the upstream u in L = sum(y * u). */
  readonly seed?: number
  /** `positive` (default): u in [0.5, 1.5), which makes the directional rule sound; `signed`: u in [-1, 1). */
  readonly upstream?: "positive" | "signed"
  /** Inputs to differentiate (default every float input). */
  readonly wrt?: readonly string[]
  readonly registry?: Registry
}

/**
 * Checks the gradient of a graph function at a point that may sit on ties and kinks.
 * Same calling convention as `checkGradients`.
 *
 * @example
 * const x = tensor([0, 0, 0, 0], [1, 1, 4], "float64")
 * const r = checkTieAwareGradients(({ x }) => globalMaxPool(x), { x })
 * r.ok            // true: the gradient is the vertex e_0 of the simplex (tie "first")
 * r.plain.ok      // false: central differences give 1/2 to every element
 * r.sites         // [{ kind: "max_pool", window: 0, elements: [0, 1, 2, 3], ... }]
 */
export function checkTieAwareGradients(fn: GraphFunction, inputs: { readonly [name: string]: Tensor }, options: TieCheckOptions = {}): TieCheckReport {
  const rules = options.rules ?? ["clarke", "directional", "nudge"]
  const tieTol = options.tieTol ?? 1e-9
  const rtol = options.rtol ?? 1e-5
  const atol = options.atol ?? 1e-7
  const positive = (options.upstream ?? "positive") === "positive"
  const { builder: b, feeds, values, loss, wrt } = scalarProbe(fn, inputs, {
    registry: options.registry,
    wrt: options.wrt,
    seed: options.seed,
    upstream: (rng) => (positive ? rng.uniform(0.5, 1.5) : rng.uniform(-1, 1)),
  })

  // Sites: max-pool (or declared) and relu nodes the loss depends on, with an input x (and,
  // for fractional pools, the samples / seed that place the windows).
  const found: (Omit<Site, "others"> & { otherValues: [string, Value][] })[] = []
  for (const id of b.graph.order) {
    const node = b.graph.nodes[id]
    if (node.kind !== "op" || node.role !== "forward" || node.inputs.x === undefined) continue
    const kind = node.op === "relu" ? "relu" : resolveTieGeometry(node.op, options.treatAs)
    if (kind === undefined) continue
    const xRef = node.inputs.x
    const xNode = b.graph.nodes[xRef.node]
    const otherValues = Object.entries(node.inputs).flatMap(([k, ref]): [string, Value][] => (k === "x" || ref === undefined ? [] : [[k, b.value(ref)]]))
    found.push({ node, kind, yValue: b.value({ node: id, output: "y" }), xValue: b.value(xRef), input: xNode.kind === "input" ? xNode.id : undefined, otherValues })
  }
  const otherFetches = found.flatMap((s) => s.otherValues.map(([, v]) => v))
  const grads = gradValues(b, loss, [...wrt.map((n) => values[n]), ...found.map((s) => s.yValue)])
  const out = compile(b.graph, [loss, ...grads, ...found.map((s) => s.xValue), ...otherFetches]).run(feeds)
  const L0 = out[0].data[0]
  const analytic = new Map(wrt.map((n, k) => [n, out[1 + k]]))
  const siteGy = found.map((_, k) => out[1 + wrt.length + k])
  const siteX = found.map((_, k) => out[1 + wrt.length + found.length + k])
  let nextOther = 1 + wrt.length + 2 * found.length
  const siteList: Site[] = found.map(({ otherValues, ...s }) => ({ ...s, others: Object.fromEntries(otherValues.map(([k]) => [k, cloneTensor(out[nextOther++])])) }))
  const forward = compile(b.graph, [loss])
  const evaluate = (f: { [name: string]: Tensor }): number => forward.run(f)[0].data[0]
  const withSites = compile(b.graph, [loss, ...siteList.map((s) => s.xValue)])
  const evaluateSites = (f: { [name: string]: Tensor }): { loss: number; siteX: Tensor[] } => {
    const [l, ...xs] = withSites.run(f)
    // Copies: a fed input comes back as the caller's (later mutated) tensor.
    return { loss: l.data[0], siteX: xs.map(cloneTensor) }
  }

  // ---- find the sites
  const sites: TieSite[] = []
  for (const name of wrt) {
    const t = feeds[name]
    const bad: number[] = []
    t.data.forEach((v, i) => {
      if (!Number.isFinite(v)) bad.push(i)
    })
    if (bad.length > 0) sites.push({ kind: "non_finite", node: name, op: "input", input: name, elements: bad, coords: bad.map((i) => unravel(i, t.shape)), value: t.data[bad[0]] })
  }
  const siteWindows = siteList.map((s, k) => (s.kind === "relu" ? undefined : nodeWindowList(s.kind, s.node.attrs, siteX[k], s.others)))
  const siteTies = siteList.map((s, k) => (siteWindows[k] === undefined ? undefined : tieSets(siteX[k].data, siteWindows[k]!, tieTol)))
  siteList.forEach((s, k) => {
    const x = siteX[k]
    if (s.kind === "relu") {
      const near: number[] = []
      x.data.forEach((v, i) => {
        if (Math.abs(v) <= tieTol) near.push(i)
      })
      if (near.length > 0) sites.push({ kind: "relu", node: s.node.id, op: s.node.op, input: s.input, elements: near, coords: near.map((i) => unravel(i, x.shape)), value: 0 })
      return
    }
    siteTies[k]!.forEach((T, o) => {
      if (T.length < 2) return
      const el = [...T]
      sites.push({ kind: "max_pool", node: s.node.id, op: s.node.op, input: s.input, window: o, elements: el, coords: el.map((i) => unravel(i, x.shape)), value: x.data[el[0]] })
    })
  })

  // ---- plain central differences (for comparison)
  const eps = options.eps ?? 1e-6
  const plainFailures: string[] = []
  for (const name of wrt) {
    const g = analytic.get(name)!
    const fd = centralDifferences(evaluate, feeds, name, eps)
    fd.forEach((num, i) => {
      if (!Number.isFinite(num) && !Number.isFinite(g.data[i])) return
      if (!(Math.abs(g.data[i] - num) <= atol + rtol * Math.abs(num))) plainFailures.push(`d/d${name}[${unravel(i, g.shape).join(", ")}]: analytic ${g.data[i]} vs central difference ${num}`)
    })
  }

  const results: TieRuleResult[] = []
  for (const rule of rules) {
    if (rule === "clarke") results.push(clarkeRule(siteList, siteX, siteGy, siteWindows, siteTies, b.graph.registry, tieTol, rtol, atol))
    else if (rule === "directional") results.push(directionalRule(evaluate, feeds, wrt, analytic, L0, options.step ?? 1e-6, rtol, atol))
    else results.push(nudgeRule(evaluateSites, feeds, wrt, analytic, siteList, siteX, siteWindows, siteTies, b.graph.registry, siteGy, tieTol, options.nudge ?? 1e-4, rtol, atol))
  }
  const ok = results.every((r) => r.ok)
  const counts = (["max_pool", "relu", "non_finite"] as const).map((k) => `${sites.filter((s) => s.kind === k).length} ${k}`).join(", ")
  const lines = [`tie-aware gradient check: ${ok ? "ok" : "FAILED"}; sites: ${counts}`]
  for (const r of results) {
    lines.push(`  ${r.rule}: ${r.ok ? "ok" : "FAILED"} (${r.checked} checked)${r.applied.length > 0 ? "; " + r.applied.slice(0, 4).join("; ") : ""}`)
    for (const f of r.failures.slice(0, 5)) lines.push(`    ${f}`)
  }
  lines.push(`  plain central differences: ${plainFailures.length === 0 ? "ok" : `${plainFailures.length} mismatches, e.g. ${plainFailures[0]}`}`)
  return { ok, sites, rules: results, plain: { ok: plainFailures.length === 0, failures: plainFailures }, summary: lines.join("\n") }
}

/**
 * {@link checkTieAwareGradients} for a single op applied to named inputs (its `y`).
 *
 * @example
 * checkTieAwareOp(maxPool1dOp, { x }, { kernel_size: 2, stride: 2, padding: 1, ceil_mode: true }).ok
 */
export function checkTieAwareOp<I extends string, J extends string, O extends string, P extends string, RawA, A extends Attrs>(
  op: OpDef<I, J, O, P, RawA, A>,
  inputs: { readonly [K in I]: Tensor },
  attrs?: RawA,
  options: TieCheckOptions = {},
): TieCheckReport {
  const anyOp = op as unknown as AnyOp
  return checkTieAwareGradients((v, builder) => applyAny(builder, anyOp, v, attrs ?? {}).y, inputs as { readonly [name: string]: Tensor }, options)
}
