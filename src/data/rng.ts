// Counter-based random numbers: value i of stream (seed, stream) is a pure hash of the three
// numbers, so any position can be recomputed without replaying earlier draws (what an exact
// mid-epoch resume needs). Hash: the "lowbias32" integer mixer (Wellons, hash-prospector),
// applied in a chain over seed, stream and counter. Hand-written because it is 10 lines and
// must never change between library versions (a changed generator silently breaks resumes).

function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit unsigned integer, a pure function of (seed, stream, counter). */
export function hash32(seed: number, stream: number, counter: number): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ (stream >>> 0));
  h = mix32(h ^ (counter >>> 0) ^ Math.imul(Math.floor(counter / 2 ** 32), 0x85ebca6b));
  return h;
}

/** A uniform number in [0, 1) with 32 random bits. */
export function uniform(seed: number, stream: number, counter: number): number {
  return hash32(seed, stream, counter) / 2 ** 32;
}

/** A deterministic random permutation of 0..n-1 (Fisher–Yates driven by `hash32(seed, stream, i)`). */
export function permutation(n: number, seed: number, stream: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform(seed, stream, i) * (i + 1));
    const t = p[i]; p[i] = p[j]; p[j] = t;
  }
  return p;
}

/** A small sequential generator over the counter-based hash, for data generation. */
export class CounterRng {
  private counter = 0;
  constructor(private readonly seed: number, private readonly stream = 0) {}
  /** Uniform in [0, 1). */
  next(): number { return uniform(this.seed, this.stream, this.counter++); }
  range(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }
  int(n: number): number { return Math.floor(this.next() * n); }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
