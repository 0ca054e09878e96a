import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Sigmoid VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 4] }], build: (g, x) => g.op('Sigmoid', [x.a]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [5], range: [-6, 6] }], build: (g, x) => g.op('Sigmoid', [x.a]) });
  });
});
