// Small seeded PRNGs. Hand-written: the generator state must be a plain number we can checkpoint,
// which the npm PRNG packages hide behind closures.

/** mulberry32: 32-bit state, uniform floats in [0, 1). */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * (this.nextU32() / 4294967296);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }

  int(n: number): number {
    return this.nextU32() % n;
  }
}

/** Hash of (seed, ...keys) into a 32-bit value, for counter-based streams. */
export function hashSeed(seed: number, ...keys: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const k of keys) {
    h = Math.imul(h ^ (k >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}
