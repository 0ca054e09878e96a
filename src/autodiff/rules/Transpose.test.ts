import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Transpose VJP', () => {
  it('default (reverse) and explicit non-involutive perm', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('Transpose', [x.a]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4, 5] }], build: (g, x) => g.op('Transpose', [x.a], { perm: [2, 0, 3, 1] }), maxElements: 40 });
  });
});
