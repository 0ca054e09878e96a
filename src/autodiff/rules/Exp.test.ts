import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Exp VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [4, 3], range: [-2, 2] }], build: (g, x) => g.op('Exp', [x.a]) });
  });
});
