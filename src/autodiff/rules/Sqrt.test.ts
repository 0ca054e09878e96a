import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Sqrt VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 6], range: [0.3, 3] }], build: (g, x) => g.op('Sqrt', [x.a]) });
  });
});
