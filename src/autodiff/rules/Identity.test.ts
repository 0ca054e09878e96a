import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Identity VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3] }], build: (g, x) => g.op('Identity', [x.a]) });
  });
});
