import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

const i64 = (v: number[]) => BigInt64Array.from(v.map(BigInt));

describe('GatherElements VJP', () => {
  it('inner axis with repeats and negative indices', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [3, 4] }, { name: 'i', shape: [3, 2], dtype: 'int64', data: i64([0, 3, 1, 1, -1, 2]) }],
      build: (g, v) => g.op('GatherElements', [v.x, v.i], { axis: 1 }),
    });
  });
});
