import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Concat VJP', () => {
  it('three inputs along a middle and a negative axis, one not differentiated', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [2, 4, 3] }, { name: 'c', shape: [2, 2, 3], differentiable: false }],
      build: (g, x) => g.op('Concat', [x.a, x.b, x.c], { axis: 1 }),
    });
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [3, 5] }],
      build: (g, x) => g.op('Concat', [x.a, x.b], { axis: -1 }),
    });
  });
  it('the same value twice accumulates', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3] }], build: (g, x) => g.op('Concat', [x.a, x.a], { axis: 0 }) });
  });
});
