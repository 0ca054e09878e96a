import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Log VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [4, 3], range: [0.3, 3] }], build: (g, x) => g.op('Log', [x.a]) });
  });
});
