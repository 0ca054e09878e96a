import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

// onnxruntime's CPU EP has AveragePool/ConvTranspose kernels for float32 only: checked in float32.
const f32 = { dtype: 'float32' as const, eps: 1e-2, atol: 1e-3, rtol: 1e-2, maxElements: 84 };

describe('AveragePool VJP', () => {
  for (const count_include_pad of [0, 1]) {
    it(`count_include_pad=${count_include_pad}: padded, strided, overlapping windows`, async () => {
      await gradcheck({
        ...f32,
        inputs: [{ name: 'x', shape: [2, 3, 7, 6] }],
        build: (g, v) => g.op('AveragePool', [v.x], { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], count_include_pad }),
      });
    });
    it(`count_include_pad=${count_include_pad}: ceil mode with a partial last window`, async () => {
      await gradcheck({
        ...f32,
        inputs: [{ name: 'x', shape: [1, 2, 6, 5] }],
        build: (g, v) => g.op('AveragePool', [v.x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 0], ceil_mode: 1, count_include_pad }),
      });
    });
  }
  it('plain 2×2 stride 2 and 1-D', async () => {
    await gradcheck({ ...f32, inputs: [{ name: 'x', shape: [2, 2, 4, 6] }], build: (g, v) => g.op('AveragePool', [v.x], { kernel_shape: [2, 2], strides: [2, 2] }) });
    await gradcheck({ ...f32, inputs: [{ name: 'x', shape: [2, 2, 9] }], build: (g, v) => g.op('AveragePool', [v.x], { kernel_shape: [3], strides: [2], pads: [1, 1] }) });
  });
});
