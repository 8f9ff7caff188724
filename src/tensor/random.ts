import { AttrError } from "../errors.ts"

/**
 * A small seedable PRNG (xoshiro128**, seeded through splitmix32) so that every random
 * choice dagrad makes (initialisation, shuffling, dropout) is reproducible bit for bit
 * from one integer seed, in Node and in the browser alike. Its state is four uint32s and
 * can be saved in a checkpoint and restored.
 */
export class Random {
  private s: Uint32Array

  constructor(seed: number) {
    // seed >>> 0 would turn NaN, Infinity and 1.5 into other seeds without a word
    if (!Number.isInteger(seed)) throw new AttrError(`seed ${String(seed)} (expected an integer)`)
    this.s = new Uint32Array(4)
    let x = seed >>> 0
    for (let i = 0; i < 4; i++) {
      // splitmix32 spreads the seed so that nearby seeds give unrelated streams
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      this.s[i] = (z ^ (z >>> 16)) >>> 0
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0
    const t = (s[1] << 9) >>> 0
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return result
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next()
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0
    while (u === 0) u = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: { length: number; [i: number]: T }): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = items[i]
      items[i] = items[j]
      items[j] = tmp
    }
  }

  /** The state, for checkpoints. */
  getState(): number[] {
    return Array.from(this.s)
  }

  /** A generator resumed from {@link Random.getState}'s output: it continues the same sequence. */
  static fromState(state: readonly number[]): Random {
    const r = new Random(0)
    r.s = Uint32Array.from(state)
    return r
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
