import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('ReduceMin VJP', () => {
  it('axes with and without keepdims, all axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceMin', [x.a], { axes: [-1], keepdims: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2] }], build: (g, x) => g.op('ReduceMin', [x.a]) });
  });
});
