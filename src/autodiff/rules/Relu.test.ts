import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Relu VJP', () => {
  it('matches finite differences on both sides of 0', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [4, 6] }], build: (g, x) => g.op('Relu', [x.a]), seed: 7 });
  });
});
