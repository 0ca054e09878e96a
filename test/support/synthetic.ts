// Deterministic synthetic classification sets for engine tests and benchmarks.
import { Rng } from '../../src/random.js';
import type { Tensor } from '../../src/tensor.js';

/** n samples of `dim` features in `classes` classes: a class prototype plus Gaussian noise. */
export function prototypeSet(n: number, dim: number, classes: number, seed: number, noise = 1.0): { x: Tensor; y: Tensor } {
  const rng = new Rng(seed);
  const protos = Array.from({ length: classes }, () => Float32Array.from({ length: dim }, () => rng.normal() * 0.5));
  const x = new Float32Array(n * dim);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(classes);
    y[i] = BigInt(c);
    for (let j = 0; j < dim; j++) x[i * dim + j] = protos[c][j] + noise * rng.normal();
  }
  return { x: { dtype: 'float32', shape: [n, dim], data: x }, y: { dtype: 'int64', shape: [n], data: y } };
}

/** Rows [start, start + b) of a set. */
export function slice(set: { x: Tensor; y: Tensor }, start: number, b: number): { x: Tensor; y: Tensor } {
  const dim = set.x.shape.slice(1).reduce((a, c) => a * c, 1);
  return {
    x: { dtype: 'float32', shape: [b, ...set.x.shape.slice(1)], data: (set.x.data as Float32Array).subarray(start * dim, (start + b) * dim) },
    y: { dtype: 'int64', shape: [b], data: (set.y.data as BigInt64Array).subarray(start, start + b) },
  };
}
