import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Unsqueeze VJP', () => {
  it('several and negative axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 4] }], build: (g, x) => g.op('Unsqueeze', [x.a, g.ints([0, -1])]) });
  });
});
