/**
 * The three rules of the tie-aware gradient checker (see ./ties.ts): clarke (local
 * subdifferential membership of each max-pool / ReLU node), directional (one-sided
 * quotients) and nudge (central differences after moving off the tie in the policy's
 * favour). Internal to the testing kit.
 */
import { gradValues } from "../autodiff/grad.ts"
import { compile } from "../exec/plan.ts"
import { GraphBuilder, type Value } from "../graph/builder.ts"
import type { GraphNode } from "../graph/types.ts"
import type { AnyOp } from "../graph/op.ts"
import { mul } from "../ops/pointwise/index.ts"
import { sum } from "../ops/reduce/index.ts"
import { lookupOp, type Registry } from "../graph/registry.ts"
import { cloneTensor, type Tensor } from "../tensor/tensor.ts"
import { isFractionalKind, isMaxPoolKind, tieOf, tieSets, type TieGeometry, type WindowList } from "./windows.ts"
import type { TiePolicy } from "../ops/pool/geometry.ts"
import { unravel } from "../testing/gradcheck.ts"
import { phaseOne } from "./feasibility.ts"

/** The three checks valid at ties and kinks. */
export type TieRule = "clarke" | "directional" | "nudge"

/** What one rule found. */
export interface TieRuleResult {
  readonly rule: TieRule
  readonly ok: boolean
  /** Elements (or windows, for clarke) checked. */
  readonly checked: number
  /** What was applied where, one line per site or input. */
  readonly applied: readonly string[]
  readonly failures: readonly string[]
  /** Coordinates a rule could not decide and left out (nudge: they move a tie it did not resolve). */
  readonly skipped?: number
}

/** A max-pool (or declared) or ReLU node the checker inspects. */
export interface Site {
  readonly node: GraphNode
  readonly kind: TieGeometry | "relu"
  readonly yValue: Value
  readonly xValue: Value
  /** The node's other inputs' values at the checked point (a fractional pool's samples / seed), fed to its local gradient. */
  readonly others: { readonly [input: string]: Tensor }
  /** Graph input name when x is fed directly. */
  readonly input: string | undefined
}

/**
 * The tie policy a max-pool site claims: its `tie` attr for the built-in pools (PyTorch's
 * "first" when absent; the fractional pools have no `tie` attr and take the first maximum); for a custom op declared with `treatAs` and no `tie` attr, "custom":
 * it may choose any convex combination of the tied maxima, so it is held to that.
 */
export function sitePolicy(s: Site): TiePolicy | "custom" {
  return isMaxPoolKind(s.node.op) || isFractionalKind(s.node.op) || s.node.attrs.tie !== undefined ? tieOf(s.node.attrs) : "custom"
}

/** builder.apply for an op known only as AnyOp (attrs are the node's stored, normalised attrs). */
export function applyAny(builder: GraphBuilder, op: AnyOp, inputs: { readonly [k: string]: Value }, attrs: unknown): { [k: string]: Value } {
  const apply = builder.apply as (o: AnyOp, i: { readonly [k: string]: Value }, a: unknown) => { [k: string]: Value }
  return apply.call(builder, op, inputs, attrs)
}

/** The gradient of one node alone: d/dx sum(op(x, others) * gy), through the op's own gradient rule. */
function localGradient(registry: Registry, s: Site, x: Tensor, gy: Tensor): Tensor {
  const node: GraphNode = s.node
  const b = new GraphBuilder({ dtype: "float64", registry })
  const xv = b.input("x", x.shape)
  const others = Object.fromEntries(Object.entries(s.others).map(([k, t]) => [k, b.input(`other_${k}`, t.shape, t.dtype)]))
  const y = applyAny(b, lookupOp(registry, node.op, node.id), { ...others, x: xv }, node.attrs).y
  const [g] = gradValues(b, sum(mul(y, b.input("u", gy.shape))), [xv])
  const feeds = Object.fromEntries(Object.entries(s.others).map(([k, t]) => [`other_${k}`, t]))
  return compile(b.graph, [g]).run({ ...feeds, x, u: gy })[0]
}

export function clarkeRule(
  siteList: readonly Site[],
  siteX: readonly Tensor[],
  siteGy: readonly Tensor[],
  siteWindows: readonly (WindowList | undefined)[],
  siteTies: readonly (Int32Array[] | undefined)[],
  registry: Registry,
  tieTol: number,
  rtol: number,
  atol: number,
): TieRuleResult {
  const applied: string[] = []
  const failures: string[] = []
  let checked = 0
  siteList.forEach((s, k) => {
    const x = siteX[k]
    const gy = siteGy[k]
    const gx = localGradient(registry, s, x, gy).data
    let scale = 0
    for (const v of gy.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v))
    const tol = atol + rtol * scale
    const where = (i: number): string => `${s.node.id} (${s.node.op}) x[${unravel(i, x.shape).join(", ")}]`
    if (s.kind === "relu") {
      let atKink = 0
      for (let i = 0; i < x.data.length; i++) {
        const v = x.data[i]
        const g = gy.data[i]
        if (!Number.isFinite(v) || !Number.isFinite(g)) continue
        checked++
        if (Math.abs(v) <= tieTol) {
          atKink++
          // Clarke subdifferential of relu at 0 is [0, 1]: gx = λ gy.
          const lo = Math.min(0, g) - tol
          const hi = Math.max(0, g) + tol
          if (gx[i] < lo || gx[i] > hi) failures.push(`${where(i)} at the kink: gradient ${gx[i]} is not λ·${g} with λ in [0, 1]`)
        } else if (Math.abs(gx[i] - (v > 0 ? g : 0)) > tol) failures.push(`${where(i)} = ${v}: gradient ${gx[i]} (expected ${v > 0 ? g : 0})`)
      }
      applied.push(`${s.node.id}: relu, ${atKink} inputs at the kink checked against [0, 1]·gy`)
      return
    }
    const windows = siteWindows[k]!
    const ties = siteTies[k]!
    const policy = sitePolicy(s)
    const resid = Float64Array.from(gx)
    const excluded = new Uint8Array(x.data.length)
    const multi: number[] = []
    windows.members.forEach((m, o) => {
      const T = ties[o]
      if (T.length === 0) {
        // A NaN window (or one with no in-bounds element): not a point where a subgradient is defined.
        for (const i of m) excluded[i] = 1
        return
      }
      checked++
      if (T.length === 1) resid[T[0]] -= gy.data[o]
      else multi.push(o)
    })
    const exactTies = (o: number): number[] => {
      const m = windows.members[o]
      let max = -Infinity
      for (const i of m) max = Math.max(max, x.data[i])
      return [...m].filter((i) => x.data[i] === max)
    }
    const residualFailures = (r: Float64Array, what: string): string[] => {
      const f: string[] = []
      r.forEach((v, i) => {
        if (!excluded[i] && Math.abs(v) > tol) f.push(`${where(i)}: gradient ${gx[i]} differs from ${what} by ${v}`)
      })
      return f
    }
    if (multi.length === 0) {
      failures.push(...residualFailures(resid, "upstream routed to each window's unique maximum"))
      applied.push(`${s.node.id}: no ties; gradient must route each window's upstream to its maximum`)
      return
    }
    if (policy === "first" || policy === "last") {
      const r = Float64Array.from(resid)
      for (const o of multi) {
        const e = exactTies(o)
        r[policy === "first" ? e[0] : e[e.length - 1]] -= gy.data[o]
      }
      failures.push(...residualFailures(r, `the "${policy}" vertex`))
      applied.push(`${s.node.id}: ${multi.length} tied windows, vertex(${policy})`)
      return
    }
    // split / all / custom: a sum of per-window convex combinations over the tie sets.
    const split = Float64Array.from(resid)
    for (const o of multi) {
      const e = exactTies(o)
      for (const i of e) split[i] -= gy.data[o] / e.length
    }
    if (residualFailures(split, "").length === 0) {
      applied.push(`${s.node.id}: ${multi.length} tied windows, convex combination (equal shares)`)
      return
    }
    const lp = convexFeasibility(resid, multi, ties, gy.data, tol, excluded)
    applied.push(`${s.node.id}: ${multi.length} tied windows, convex combination (feasibility LP over ${lp.components} components)`)
    for (const f of lp.failures) failures.push(`${s.node.id} (${s.node.op}): ${f}`)
  })
  return { rule: "clarke", ok: failures.length === 0, checked, applied, failures }
}

/**
 * Is resid = Σ_o gy_o λ_o with λ_o in the simplex over tie set T(o)? Elements outside every
 * tie set must carry nothing; each connected group of overlapping windows is one small LP.
 */
function convexFeasibility(
  resid: Float64Array,
  multi: readonly number[],
  ties: readonly Int32Array[],
  gy: ArrayLike<number>,
  tol: number,
  excluded: Uint8Array,
): { failures: string[]; components: number } {
  const failures: string[] = []
  const covered = new Set<number>()
  for (const o of multi) for (const i of ties[o]) covered.add(i)
  resid.forEach((v, i) => {
    if (!covered.has(i) && !excluded[i] && Math.abs(v) > tol) failures.push(`element ${i} gets ${v} but is not a (tied) maximum of any window`)
  })
  // Union-find over windows sharing tied elements.
  const parent = new Map<number, number>(multi.map((o) => [o, o]))
  const find = (o: number): number => {
    while (parent.get(o) !== o) o = parent.get(o)!
    return o
  }
  const owner = new Map<number, number>()
  for (const o of multi) {
    for (const i of ties[o]) {
      const prev = owner.get(i)
      if (prev === undefined) owner.set(i, o)
      else parent.set(find(o), find(prev))
    }
  }
  const groups = new Map<number, number[]>()
  for (const o of multi) {
    const r = find(o)
    const g = groups.get(r)
    if (g) g.push(o)
    else groups.set(r, [o])
  }
  for (const windows of groups.values()) {
    const active = windows.filter((o) => gy[o] !== 0)
    const elements = [...new Set(windows.flatMap((o) => [...ties[o]]))]
    const col = new Map<string, number>()
    for (const o of active) for (const i of ties[o]) col.set(`${o}:${i}`, col.size)
    let scale = 0
    for (const o of active) scale = Math.max(scale, Math.abs(gy[o]))
    if (scale === 0) scale = 1
    const A: number[][] = []
    const rhs: number[] = []
    for (const o of active) {
      const row = new Array<number>(col.size).fill(0)
      for (const i of ties[o]) row[col.get(`${o}:${i}`)!] = 1
      A.push(row)
      rhs.push(1)
    }
    for (const i of elements) {
      const row = new Array<number>(col.size).fill(0)
      for (const o of active) {
        const c = col.get(`${o}:${i}`)
        if (c !== undefined) row[c] = gy[o] / scale
      }
      A.push(row)
      rhs.push(resid[i] / scale)
    }
    const { infeasibility } = phaseOne(A, rhs)
    if (infeasibility > (elements.length * tol) / scale + 1e-9) {
      failures.push(
        `windows [${windows.join(", ")}] over elements [${elements.join(", ")}]: the gradient is not a sum of non-negative shares of each window's upstream over its tied maxima (L1 infeasibility ${(infeasibility * scale).toExponential(2)})`,
      )
    }
  }
  return { failures, components: groups.size }
}


export function directionalRule(
  evaluate: (f: { [n: string]: Tensor }) => number,
  feeds: { [n: string]: Tensor },
  wrt: readonly string[],
  analytic: ReadonlyMap<string, Tensor>,
  L0: number,
  step: number,
  rtol: number,
  atol: number,
): TieRuleResult {
  const failures: string[] = []
  let checked = 0
  let skipped = 0
  for (const name of wrt) {
    const base = feeds[name]
    const probe = cloneTensor(base)
    const trial = { ...feeds, [name]: probe }
    const g = analytic.get(name)!
    for (let i = 0; i < base.data.length; i++) {
      const x0 = base.data[i]
      const h = step * Math.max(1, Math.abs(x0))
      probe.data[i] = x0 + h
      const right = (evaluate(trial) - L0) / h
      probe.data[i] = x0 - h
      const left = (L0 - evaluate(trial)) / h
      probe.data[i] = x0
      if (!Number.isFinite(right) || !Number.isFinite(left) || !Number.isFinite(x0)) {
        skipped++
        continue
      }
      checked++
      // Rounding in L(x ± h) - L(x) is about 2^-52 |L| / h per quotient.
      const tol = atol + rtol * Math.max(Math.abs(left), Math.abs(right)) + (8 * 2 ** -52 * (Math.abs(L0) + 1)) / h
      const a = g.data[i]
      if (!(a >= Math.min(left, right) - tol && a <= Math.max(left, right) + tol)) {
        failures.push(`d/d${name}[${unravel(i, base.shape).join(", ")}]: analytic ${a} is outside the one-sided quotients [${Math.min(left, right)}, ${Math.max(left, right)}]`)
      }
    }
  }
  const applied = [`one-sided quotients, step ${step}·max(1, |x|)${skipped > 0 ? `; ${skipped} elements skipped (non-finite loss or input)` : ""}`]
  return { rule: "directional", ok: failures.length === 0, checked, applied, failures }
}

/**
 * Runs the probed graph at some feeds: the loss and, per site, the value the site reads
 * (its x), in `siteList` order. The nudge rule uses the site values to tell which
 * coordinates move a tie or kink that it did not resolve.
 */
export type SiteEvaluator = (feeds: { [n: string]: Tensor }) => { readonly loss: number; readonly siteX: readonly Tensor[] }

/**
 * The nudge rule. Sites that read a graph input directly and have a one-sided policy
 * (max-pool tie "first"/"last", ReLU at 0) are moved off the tie in the policy's favour;
 * every other tie or kink (tie "split"/"all"/custom, ties and kinks in intermediate values)
 * is left where it is. Central differences at the nudged point are then compared with the
 * ORIGINAL analytic gradient only for the coordinates whose ±eps perturbation leaves every
 * remaining tie and kink untouched (no member of a still-tied window, no ReLU input still
 * at 0 changes value): only there is the central difference the one-sided limit the
 * policy claims to follow. The other coordinates are counted as skipped, not failed.
 */
export function nudgeRule(
  evaluateSites: SiteEvaluator,
  feeds: { [n: string]: Tensor },
  wrt: readonly string[],
  analytic: ReadonlyMap<string, Tensor>,
  siteList: readonly Site[],
  siteX: readonly Tensor[],
  siteWindows: readonly (WindowList | undefined)[],
  siteTies: readonly (Int32Array[] | undefined)[],
  registry: Registry,
  siteGy: readonly Tensor[],
  tieTol: number,
  maxNudge: number,
  rtol: number,
  atol: number,
): TieRuleResult {
  const applied: string[] = []
  const failures: string[] = []
  const nudged: { [n: string]: Tensor } = { ...feeds }
  const notNudged = new Set<string>()
  let smallest = Infinity
  siteList.forEach((s, k) => {
    const tied = s.kind === "relu" ? siteX[k].data.some((v) => Math.abs(v) <= tieTol) : siteTies[k]!.some((T) => T.length >= 2)
    if (!tied) return
    if (s.input === undefined || !wrt.includes(s.input)) {
      applied.push(`${s.node.id}: reads an intermediate value; not nudged (coordinates that move its ties are skipped)`)
      notNudged.add(s.node.id)
    } else if (s.kind !== "relu") {
      const policy = sitePolicy(s)
      if (policy !== "first" && policy !== "last") {
        applied.push(`${s.node.id}: tie "${policy}" averages several one-sided limits; not nudged (see clarke; coordinates that move its ties are skipped)`)
        notNudged.add(s.node.id)
      }
    }
  })
  for (const name of wrt) {
    const base = feeds[name]
    const x = cloneTensor(base)
    // Elements to raise, with a priority (bigger bump wins), and relu kinks to move off 0.
    const priority = new Map<number, number>()
    const reluSide = new Map<number, number>()
    const policies = new Set<string>()
    siteList.forEach((s, k) => {
      if (s.input !== name || notNudged.has(s.node.id)) return
      if (s.kind === "relu") {
        const local = localGradient(registry, s, siteX[k], siteGy[k]).data
        let moved = 0
        siteX[k].data.forEach((v, i) => {
          if (Math.abs(v) > tieTol) return
          const g = siteGy[k].data[i]
          // Which side's derivative did the op pick? λ = gx / gy, near 0: the left side.
          reluSide.set(i, g !== 0 && local[i] / g >= 0.5 ? 1 : -1)
          moved++
        })
        if (moved > 0) applied.push(`${s.node.id}: relu inputs at 0 moved to the side of the op's convention`)
        return
      }
      const multi = siteTies[k]!.filter((T) => T.length >= 2)
      if (multi.length === 0) return
      const policy = sitePolicy(s)
      policies.add(policy)
      for (const T of multi) for (const i of T) priority.set(i, 0)
      applied.push(`${s.node.id}: ${multi.length} tied windows nudged toward the "${policy}" element`)
    })
    if (policies.size > 1) {
      // Two one-sided policies on the same input may want opposite orders of the same elements.
      applied.push(`${name}: read by max pools with different policies (${[...policies].join(", ")}); not nudged`)
      continue
    }
    const policy = [...policies][0]
    const order = [...priority.keys()].sort((a, c) => base.data[c] - base.data[a] || (policy === "last" ? c - a : a - c))
    order.forEach((i, r) => priority.set(i, order.length - r))
    if (priority.size === 0 && reluSide.size === 0) continue
    // The nudge stays below a quarter of the smallest real gap, so no other order changes.
    const sorted = [...base.data].filter(Number.isFinite).sort((a, c) => a - c)
    let gap = Infinity
    for (let i = 1; i < sorted.length; i++) {
      const d = sorted[i] - sorted[i - 1]
      if (d > tieTol * Math.max(1, Math.abs(sorted[i]))) gap = Math.min(gap, d)
    }
    const delta = Math.min(maxNudge, gap / 4)
    const R = Math.max(1, priority.size)
    for (const [i, p] of priority) x.data[i] = base.data[i] + (delta * p) / R
    for (const [i, side] of reluSide) x.data[i] = side * delta
    nudged[name] = x
    smallest = Math.min(smallest, delta / R)
  }
  const eps = Math.min(1e-6, smallest / 4)
  const at = evaluateSites(nudged)
  const Ln = at.loss
  // What is still tied or at a kink at the nudged point (everything not nudged, and anything
  // a nudge did not resolve): the elements whose movement makes central differences invalid.
  const remaining = siteList.map((s, k) => {
    const v = at.siteX[k].data
    const out: number[] = []
    if (s.kind === "relu") v.forEach((e, i) => void (Math.abs(e) <= tieTol && out.push(i)))
    else for (const T of tieSets(v, siteWindows[k]!, tieTol)) if (T.length >= 2) out.push(...T)
    return out
  })
  const moves = (trial: readonly Tensor[]): boolean => remaining.some((els, k) => els.some((i) => !Object.is(trial[k].data[i], at.siteX[k].data[i])))
  let checked = 0
  let skipped = 0
  for (const name of wrt) {
    const g = analytic.get(name)!
    const point = nudged[name]
    const probe = cloneTensor(point)
    const trial = { ...nudged, [name]: probe }
    for (let i = 0; i < point.data.length; i++) {
      const x0 = point.data[i]
      probe.data[i] = x0 + eps
      const plus = evaluateSites(trial)
      probe.data[i] = x0 - eps
      const minus = evaluateSites(trial)
      probe.data[i] = x0
      const num = (plus.loss - minus.loss) / (2 * eps)
      if (!Number.isFinite(num) || !Number.isFinite(g.data[i])) continue
      if (moves(plus.siteX) || moves(minus.siteX)) {
        skipped++
        continue
      }
      checked++
      const tol = atol + rtol * Math.abs(num) + (4 * 2 ** -52 * (Math.abs(Ln) + 1)) / eps
      if (!(Math.abs(g.data[i] - num) <= tol)) {
        failures.push(`d/d${name}[${unravel(i, g.shape).join(", ")}]: analytic ${g.data[i]} at the tie vs ${num} by central differences at the nudged point`)
      }
    }
  }
  if (applied.length === 0) applied.push("nothing to nudge: plain central differences")
  else applied.push(`central differences with step ${eps.toExponential(1)} at the nudged point`)
  if (skipped > 0) applied.push(`${skipped} coordinates skipped: moving them moves a tie or kink that was not nudged`)
  return { rule: "nudge", ok: failures.length === 0, checked, skipped, applied, failures }
}

/** Multi-dimensional index of flat index i. */
