import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Mul VJP', () => {
  it('broadcasting both ways', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 1] }, { name: 'b', shape: [4] }], build: (g, x) => g.op('Mul', [x.a, x.b]) });
  });
  it('same input twice accumulates', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2] }], build: (g, x) => g.op('Mul', [x.a, x.a]) });
  });
});
