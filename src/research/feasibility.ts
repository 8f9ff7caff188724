/**
 * A tiny dense phase-1 simplex: is { λ >= 0 : A λ = b } non-empty? Used by the tie-aware
 * gradient checker to decide whether a max-pool gradient with overlapping tied windows
 * is a sum of per-window convex combinations (the problems are a few dozen variables).
 * Bland's rule, so it terminates; exact enough for tolerances around 1e-7.
 */

export interface FeasibilityResult {
  /** Sum of the phase-1 artificials at the optimum: 0 (up to rounding) iff feasible. */
  readonly infeasibility: number
  /** A solution (meaningful when infeasibility is ~0). */
  readonly solution: Float64Array
}

/**
 * Minimises sum |A λ - b| over λ >= 0 with one artificial per row (phase 1 of the simplex
 * method). `A` is row-major, `rows` x `cols`.
 *
 * @example
 * // λ0 + λ1 = 1, 2 λ0 = 0.5  →  λ = [0.25, 0.75]
 * phaseOne([[1, 1], [2, 0]], [1, 0.5]).infeasibility // ~0
 */
export function phaseOne(A: readonly (readonly number[])[], b: readonly number[], maxIterations = 10_000): FeasibilityResult {
  const m = A.length
  const n = m === 0 ? 0 : A[0].length
  const width = n + m + 1
  // Tableau rows 0..m-1 (constraints, b >= 0 after flipping), row m = reduced costs.
  const T: Float64Array[] = []
  for (let r = 0; r < m; r++) {
    const row = new Float64Array(width)
    const sign = b[r] < 0 ? -1 : 1
    for (let c = 0; c < n; c++) row[c] = sign * A[r][c]
    row[n + r] = 1
    row[width - 1] = sign * b[r]
    T.push(row)
  }
  const cost = new Float64Array(width)
  for (let r = 0; r < m; r++) for (let c = 0; c < width; c++) if (c < n || c === width - 1) cost[c] -= T[r][c]
  T.push(cost)
  const basis = Int32Array.from({ length: m }, (_, r) => n + r)
  const eps = 1e-12
  for (let it = 0; it < maxIterations; it++) {
    // Bland: the lowest-index column with a negative reduced cost enters.
    let enter = -1
    for (let c = 0; c < n + m; c++) {
      if (cost[c] < -eps) {
        enter = c
        break
      }
    }
    if (enter < 0) break
    let leave = -1
    let best = Infinity
    for (let r = 0; r < m; r++) {
      const a = T[r][enter]
      if (a > eps) {
        const ratio = T[r][width - 1] / a
        if (ratio < best - eps || (Math.abs(ratio - best) <= eps && leave >= 0 && basis[r] < basis[leave])) {
          best = ratio
          leave = r
        }
      }
    }
    if (leave < 0) break // unbounded direction: cannot happen in phase 1 (objective >= 0)
    const pivot = T[leave][enter]
    const pr = T[leave]
    for (let c = 0; c < width; c++) pr[c] /= pivot
    for (let r = 0; r <= m; r++) {
      if (r === leave) continue
      const f = T[r][enter]
      if (f === 0) continue
      const row = T[r]
      for (let c = 0; c < width; c++) row[c] -= f * pr[c]
    }
    basis[leave] = enter
  }
  const solution = new Float64Array(n)
  let infeasibility = 0
  for (let r = 0; r < m; r++) {
    if (basis[r] < n) solution[basis[r]] = T[r][width - 1]
    else infeasibility += T[r][width - 1]
  }
  return { infeasibility: Math.max(0, infeasibility), solution }
}
