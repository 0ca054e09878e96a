import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

// onnxruntime's CPU Erf kernel is float32 only.
describe('Erf VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ dtype: 'float32', inputs: [{ name: 'a', shape: [3, 4], range: [-2, 2] }], build: (g, x) => g.op('Erf', [x.a]) });
  });
  it('Gelu in erf form: x·0.5·(1 + erf(x/√2))', async () => {
    await gradcheck({
      dtype: 'float32',
      inputs: [{ name: 'a', shape: [2, 5], range: [-3, 3] }],
      build: (g, x) => {
        const dt = g.dtype(x.a);
        const e = g.op('Erf', [g.op('Mul', [x.a, g.constant(Math.SQRT1_2, dt)])]);
        return g.op('Mul', [g.op('Mul', [x.a, g.constant(0.5, dt)]), g.op('Add', [e, g.constant(1, dt)])]);
      },
    });
  });
});
