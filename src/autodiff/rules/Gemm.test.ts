import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Gemm VJP', () => {
  for (const [tA, tB] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
    it(`transA=${tA} transB=${tB}, alpha/beta, C broadcast from [n]`, async () => {
      const [m, k, n] = [3, 4, 5];
      await gradcheck({
        inputs: [{ name: 'a', shape: tA ? [k, m] : [m, k] }, { name: 'b', shape: tB ? [n, k] : [k, n] }, { name: 'c', shape: [n] }],
        build: (g, x) => g.op('Gemm', [x.a, x.b, x.c], { transA: tA, transB: tB, alpha: { float: 0.7 }, beta: { float: 1.5 } }),
      });
    });
  }
  it('C of shape [m,1] and [m,n]; no C', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3, 4] }, { name: 'c', shape: [2, 1] }],
      build: (g, x) => g.op('Gemm', [x.a, x.b, x.c]),
    });
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [4, 3] }, { name: 'c', shape: [2, 4] }],
      build: (g, x) => g.op('Gemm', [x.a, x.b, x.c], { transB: 1, beta: { float: -2 } }),
    });
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [3, 4] }], build: (g, x) => g.op('Gemm', [x.a, x.b], { transA: 1 }) });
  });
});
