import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Sub VJP', () => {
  it('broadcasting both ways', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 1] }, { name: 'b', shape: [4] }], build: (g, x) => g.op('Sub', [x.a, x.b]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [] }, { name: 'b', shape: [3, 2] }], build: (g, x) => g.op('Sub', [x.a, x.b]) });
  });
});
