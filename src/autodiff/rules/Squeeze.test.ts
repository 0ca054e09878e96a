import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Squeeze VJP', () => {
  it('given axes and all size-1 axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 1, 4, 1] }], build: (g, x) => g.op('Squeeze', [x.a, g.ints([1])]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [1, 3, 1] }], build: (g, x) => g.op('Squeeze', [x.a]) });
  });
});
