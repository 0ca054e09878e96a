import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Expand VJP', () => {
  it('adds leading axes and stretches size-1 axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 1] }], build: (g, x) => g.op('Expand', [x.a, g.ints([2, 3, 4])]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [] }], build: (g, x) => g.op('Expand', [x.a, g.ints([2, 2])]) });
  });
});
