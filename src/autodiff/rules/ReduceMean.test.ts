import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('ReduceMean VJP', () => {
  it('axes with and without keepdims, negative axes, all axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceMean', [x.a], { axes: [1], keepdims: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceMean', [x.a], { axes: [0, -1] }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3] }], build: (g, x) => g.op('ReduceMean', [x.a], { keepdims: 0 }) });
  });
});
