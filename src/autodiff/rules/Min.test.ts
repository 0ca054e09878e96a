import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Min VJP', () => {
  it('two inputs with broadcasting', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 3] }], build: (g, x) => g.op('Min', [x.a, x.b]) });
  });
});
