import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Sum VJP', () => {
  it('three inputs with broadcasting, one repeated', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }, { name: 'c', shape: [2, 1] }],
      build: (g, x) => g.op('Sum', [x.a, x.b, x.c, x.b]),
    });
  });
});
