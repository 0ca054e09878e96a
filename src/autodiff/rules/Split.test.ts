import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Split VJP', () => {
  it('uneven sizes, every output used', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 6] }], build: (g, x) => g.node('Split', [x.a, g.ints([1, 3, 2])], { axis: 1 }) });
  });
  it('some outputs without a gradient get zeros', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [5, 3] }], build: (g, x) => g.node('Split', [x.a, g.ints([2, 1, 2])], { axis: 0 })[1] });
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 4, 3] }],
      build: (g, x) => {
        const [p, , q] = g.node('Split', [x.a, g.ints([1, 1, 2])], { axis: -2 });
        return g.op('Mul', [p, g.op('ReduceSum', [q, g.ints([1])], { keepdims: 1 })]);
      },
    });
  });
});
