import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

const i64 = (v: number[]) => BigInt64Array.from(v.map(BigInt));

describe('ScatterND VJP', () => {
  for (const reduction of ['none', 'add']) {
    it(`reduction=${reduction} (data and updates)`, async () => {
      await gradcheck({
        inputs: [{ name: 'd', shape: [4, 3, 2] }, { name: 'i', shape: [2, 2], dtype: 'int64', data: i64([0, 1, 3, 2]) }, { name: 'u', shape: [2, 2] }],
        build: (g, v) => g.op('ScatterND', [v.d, v.i, v.u], { reduction }),
      });
    });
  }
});
