import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('GatherElements VJP', () => {
  it('axis 1 with repeated indices (log-prob picking)', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [4, 5] }, { name: 'i', shape: [4, 2], dtype: 'int64', data: BigInt64Array.from([0n, 0n, 4n, 2n, 1n, 1n, 3n, 0n]) }],
      build: (g, x) => g.op('GatherElements', [x.a, x.i], { axis: 1 }),
    });
  });
  it('axis 0, 3-D', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 2, 2] }, { name: 'i', shape: [2, 2, 2], dtype: 'int64', data: BigInt64Array.from([2n, 0n, 1n, 1n, 0n, 2n, 2n, 2n]) }],
      build: (g, x) => g.op('GatherElements', [x.a, x.i], { axis: 0 }),
    });
  });
});
