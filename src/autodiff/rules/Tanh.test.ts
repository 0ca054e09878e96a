import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Tanh VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4], range: [-3, 3] }], build: (g, x) => g.op('Tanh', [x.a]) });
  });
});
