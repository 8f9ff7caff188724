// Custom max pools for every max-type geometry (1-3d, adaptive), written with the public
// defineOp API: a VALID one that routes each tied window's upstream by an arbitrary convex
// combination of its tied maxima (seeded, vertices included), and a planted WRONG one that
// routes half of a tied window's upstream to an element that is no window's maximum. The
// forwards are right; only the gradients differ. Declared to the checker with `treatAs`.
import { defineOp, type Value } from "../../src/index.ts"
import type { Attrs } from "../../src/graph/types.ts"
import { maxPoolOutputShape, maxPoolWindowList, tieSets, type MaxPoolKind } from "../../src/research/windows.ts"

/** A deterministic weight in [0, 1) per (seed, window, member): a small integer hash. */
function weight(seed: number, o: number, j: number): number {
  let h = (seed * 0x9e3779b1) ^ (o * 0x85ebca6b) ^ (j * 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  h = Math.imul(h ^ (h >>> 13), 0x45d9f3b)
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32
}

/** Elements that are the (possibly tied) maximum of at least one window. */
export function maximaOfSomeWindow(x: ArrayLike<number>, kind: MaxPoolKind, attrs: Attrs, shape: readonly number[]): Set<number> {
  const out = new Set<number>()
  for (const T of tieSets(x, maxPoolWindowList(kind, attrs, shape))) for (const i of T) out.add(i)
  return out
}

/**
 * The planted bug is exposed when some tied window holds an element that is no window's
 * maximum: every valid subgradient gives that element exactly 0, the wrong op gives it half
 * of the window's upstream.
 */
export function misroutingExposed(x: ArrayLike<number>, kind: MaxPoolKind, attrs: Attrs, shape: readonly number[]): boolean {
  const maxima = maximaOfSomeWindow(x, kind, attrs, shape)
  const w = maxPoolWindowList(kind, attrs, shape)
  return tieSets(x, w).some((T, o) => T.length >= 2 && [...w.members[o]].some((i) => !maxima.has(i)))
}

type Rule = "convex" | "misrouted"

function gradientKernel(rule: Rule, kind: MaxPoolKind, attrs: Attrs, x: ArrayLike<number>, shape: readonly number[], gy: ArrayLike<number>, gx: { [i: number]: number }): void {
  const w = maxPoolWindowList(kind, attrs, shape)
  const seed = Number(attrs.weight_seed ?? 0)
  const maxima = rule === "misrouted" ? maximaOfSomeWindow(x, kind, attrs, shape) : new Set<number>()
  tieSets(x, w).forEach((T, o) => {
    if (T.length === 0) return
    if (rule === "misrouted" && T.length >= 2) {
      const stray = [...w.members[o]].find((i) => !maxima.has(i))
      if (stray !== undefined) {
        gx[stray] += gy[o] / 2
        gx[T[0]] += gy[o] / 2
        return
      }
    }
    // Arbitrary convex weights; about a third of them zero, so vertices and faces occur.
    const raw: number[] = [...T].map((_, j) => (T.length === 1 ? 1 : Math.max(0, weight(seed, o, j) * 1.5 - 0.5)))
    if (!raw.some((v) => v > 0)) raw[Math.floor(weight(seed + 1, o, 0) * T.length)] = 1
    const total = raw.reduce((a, b) => a + b, 0)
    T.forEach((i, j) => {
      gx[i] += (gy[o] * raw[j]) / total
    })
  })
}

const cache = new Map<string, (x: Value, attrs: Attrs) => Value>()

/**
 * A custom max pool of geometry `kind` whose gradient follows `rule`. Attrs are the
 * built-in op's keyword attrs (without `tie`), plus `weight_seed` for the convex weights.
 * Its registry name is `${rule}_${kind}`.
 */
export function customMaxPool(rule: Rule, kind: MaxPoolKind): (x: Value, attrs: Attrs) => Value {
  const key = `${rule}_${kind}`
  const hit = cache.get(key)
  if (hit) return hit
  const backward = defineOp({
    name: `${key}_backward`,
    inputs: ["x", "gy"],
    outputs: ["gx"],
    attrs: (raw: Attrs): Attrs => raw,
    infer: ({ x }) => ({ gx: { shape: x.shape, dtype: x.dtype } }),
    kernel: ({ inputs: { x, gy }, outputs: { gx }, attrs }) => {
      gx.data.fill(0)
      gradientKernel(rule, kind, attrs, x.data, x.shape, gy.data, gx.data)
    },
  })
  const forward = defineOp({
    name: key,
    inputs: ["x"],
    outputs: ["y"],
    attrs: (raw: Attrs): Attrs => raw,
    infer: ({ x }, a) => ({ y: { shape: maxPoolOutputShape(kind, a, x.shape), dtype: x.dtype } }),
    kernel: ({ inputs: { x }, outputs: { y }, attrs }) => {
      maxPoolWindowList(kind, attrs, x.shape).members.forEach((m, o) => {
        let best = -Infinity
        for (const i of m) best = Math.max(best, x.data[i])
        y.data[o] = best
      })
    },
    grad: ({ inputs: { x }, grads: { y: gy }, attrs, builder }) => ({ x: builder.apply(backward, { x, gy: gy! }, attrs).gx }),
  })
  const apply = (x: Value, attrs: Attrs): Value => x.builder.apply(forward, { x }, attrs).y
  cache.set(key, apply)
  return apply
}
