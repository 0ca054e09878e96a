import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('ReduceSum VJP', () => {
  it('axes with and without keepdims, negative axes, all axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceSum', [x.a, g.ints([1])], { keepdims: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceSum', [x.a, g.ints([0, -1])], { keepdims: 1 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3] }], build: (g, x) => g.op('ReduceSum', [x.a], { keepdims: 0 }) });
  });
});
