import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Neg VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 5] }], build: (g, x) => g.op('Neg', [x.a]) });
  });
});
