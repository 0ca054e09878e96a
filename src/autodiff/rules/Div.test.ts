import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Div VJP', () => {
  it('broadcasting both ways', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 3, 1] }, { name: 'b', shape: [4], range: [0.5, 2] }],
      build: (g, x) => g.op('Div', [x.a, x.b]),
    });
    await gradcheck({
      inputs: [{ name: 'a', shape: [3] }, { name: 'b', shape: [2, 1], range: [-2, -0.5] }],
      build: (g, x) => g.op('Div', [x.a, x.b]),
    });
  });
  it('only the denominator needs a gradient', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 2], differentiable: false }, { name: 'b', shape: [3, 2], range: [0.5, 2] }],
      build: (g, x) => g.op('Div', [x.a, x.b]),
    });
  });
});
