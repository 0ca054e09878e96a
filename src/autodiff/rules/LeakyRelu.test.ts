import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('LeakyRelu VJP', () => {
  it('default and explicit alpha', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 5] }], build: (g, x) => g.op('LeakyRelu', [x.a]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 2, 3] }], build: (g, x) => g.op('LeakyRelu', [x.a], { alpha: 0.2 }) });
  });
});
