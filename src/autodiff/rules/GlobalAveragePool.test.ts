import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

describe('GlobalAveragePool VJP', () => {
  // onnxruntime's CPU EP has no float64 GlobalAveragePool kernel: checked in float32.
  it('2-D and 1-D spatial', async () => {
    await gradcheck({ dtype: 'float32', inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], build: (g, v) => g.op('GlobalAveragePool', [v.x]) });
    await gradcheck({ dtype: 'float32', inputs: [{ name: 'x', shape: [3, 2, 7] }], build: (g, v) => g.op('GlobalAveragePool', [v.x]) });
  });
});
