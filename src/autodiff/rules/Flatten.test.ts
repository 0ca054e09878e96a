import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Flatten VJP', () => {
  it('default, axis 0 and negative axis', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 2, 2] }], build: (g, x) => g.op('Flatten', [x.a]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3] }], build: (g, x) => g.op('Flatten', [x.a], { axis: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 2] }], build: (g, x) => g.op('Flatten', [x.a], { axis: -1 }) });
  });
});
