import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Reshape VJP', () => {
  it('with -1 and 0 in the target shape', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('Reshape', [x.a, g.ints([0, -1])]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [6] }], build: (g, x) => g.op('Reshape', [x.a, g.ints([3, 1, 2])]) });
  });
});
