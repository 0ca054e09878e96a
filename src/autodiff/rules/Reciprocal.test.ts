import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Reciprocal VJP', () => {
  it('positive and negative inputs', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 4], range: [0.4, 2] }], build: (g, x) => g.op('Reciprocal', [x.a]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [5], range: [-2, -0.4] }], build: (g, x) => g.op('Reciprocal', [x.a]) });
  });
});
