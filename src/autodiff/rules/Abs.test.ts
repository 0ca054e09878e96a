import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Abs VJP', () => {
  it('both signs', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [4, 5] }], build: (g, x) => g.op('Abs', [x.a]) });
  });
});
