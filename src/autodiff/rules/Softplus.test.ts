import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

// onnxruntime's CPU Softplus kernel is float32 only.
describe('Softplus VJP', () => {
  it('matches finite differences', async () => {
    await gradcheck({ dtype: 'float32', inputs: [{ name: 'a', shape: [3, 4], range: [-4, 4] }], build: (g, x) => g.op('Softplus', [x.a]) });
  });
});
