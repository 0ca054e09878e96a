import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('Clip VJP', () => {
  it('min and max inputs (both differentiated), values on all three sides', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [4, 5], range: [-2, 2] }, { name: 'lo', shape: [], data: new Float64Array([-0.55]), differentiable: true }, { name: 'hi', shape: [], data: new Float64Array([0.65]), differentiable: true }],
      build: (g, x) => g.op('Clip', [x.a, x.lo, x.hi]),
    });
  });
  it('only min, only max (omitted optional input), neither', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [6], range: [-2, 2] }], build: (g, x) => g.op('Clip', [x.a, g.constant(0.1, g.dtype(x.a))]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [6], range: [-2, 2] }], build: (g, x) => g.op('Clip', [x.a, '', g.constant(0.3, g.dtype(x.a))]) });
    await gradcheck({ inputs: [{ name: 'a', shape: [6] }], build: (g, x) => g.op('Clip', [x.a]) });
  });
});
