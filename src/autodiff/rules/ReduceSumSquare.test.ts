import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('ReduceSumSquare VJP', () => {
  it('axes with and without keepdims, all axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceSumSquare', [x.a], { axes: [0, 2], keepdims: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2] }], build: (g, x) => g.op('ReduceSumSquare', [x.a]) });
  });
});
