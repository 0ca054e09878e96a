import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

const i64 = (v: number[]) => BigInt64Array.from(v.map(BigInt));

describe('Gather VJP', () => {
  it('embedding lookup with repeated and negative indices', async () => {
    await gradcheck({
      inputs: [{ name: 'emb', shape: [6, 4] }, { name: 'ids', shape: [2, 3], dtype: 'int64', data: i64([1, 3, 1, -1, 0, 3]) }],
      build: (g, v) => g.op('Gather', [v.emb, v.ids], { axis: 0 }),
    });
  });
  it('inner axis, int32 indices, scalar index', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [2, 5, 3] }, { name: 'i', shape: [4], dtype: 'int32', data: Int32Array.from([4, 0, 4, -2]) }],
      build: (g, v) => g.op('Gather', [v.x, v.i], { axis: 1 }),
    });
    await gradcheck({
      inputs: [{ name: 'x', shape: [3, 4] }, { name: 'i', shape: [], dtype: 'int64', data: i64([2]) }],
      build: (g, v) => g.op('Gather', [v.x, v.i], { axis: -1 }),
    });
    await gradcheck({
      inputs: [{ name: 'x', shape: [2, 3, 5, 2] }, { name: 'i', shape: [2, 2], dtype: 'int64', data: i64([0, 4, 4, 2]) }],
      build: (g, v) => g.op('Gather', [v.x, v.i], { axis: 2 }),
      maxElements: 60,
    });
  });
});
