import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Slice VJP', () => {
  it('unit steps (Pad form): default axes, negative starts/ends, clamped ends', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [4, 5] }], build: (g, x) => g.op('Slice', [x.a, g.ints([1, 0]), g.ints([3, -2])]) });
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 4, 5] }],
      build: (g, x) => g.op('Slice', [x.a, g.ints([-3]), g.ints([1000]), g.ints([-1])]),
      maxElements: 40,
    });
  });
  it('steps and axes (ScatterND form), including a negative step', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 7, 4] }],
      build: (g, x) => g.op('Slice', [x.a, g.ints([1, 3]), g.ints([7, 0]), g.ints([1, 2]), g.ints([2, -2])]),
      maxElements: 84,
    });
    await gradcheck({
      inputs: [{ name: 'a', shape: [6, 2] }],
      build: (g, x) => g.op('Slice', [x.a, g.ints([-1]), g.ints([-1000]), g.ints([0]), g.ints([-1])]),
    });
  });
});
