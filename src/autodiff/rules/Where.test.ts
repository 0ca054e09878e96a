import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Where VJP', () => {
  it('condition from a comparison, branches broadcast', async () => {
    await gradcheck({
      inputs: [{ name: 'c', shape: [3, 1], differentiable: false }, { name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }],
      build: (g, x) => g.op('Where', [g.op('Greater', [x.c, g.constant(0, g.dtype(x.c))]), x.a, x.b]),
    });
  });
  it('bool condition input of full shape, scalar branch', async () => {
    await gradcheck({
      inputs: [{ name: 'c', shape: [2, 3], dtype: 'bool', data: Uint8Array.from([1, 0, 0, 1, 1, 0]) }, { name: 'a', shape: [] }, { name: 'b', shape: [2, 3] }],
      build: (g, x) => g.op('Where', [x.c, x.a, x.b]),
    });
  });
});
