import { describe, expect, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';

// onnxruntime's CPU EP has Conv/ConvTranspose kernels for float32 only: checked in float32.
const f32 = { dtype: 'float32' as const, eps: 1e-2, atol: 1e-2, rtol: 2e-2, maxElements: 24 };

describe('Conv VJP', () => {
  it('plain 3×3 with bias', async () => {
    const r = await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 5, 6] }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'b', shape: [4] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { kernel_shape: [3, 3] }),
    });
    expect(r.checked).toBe(24 + 24 + 4);
  });
  it('stride, asymmetric padding, dilation, leftover rows (output_padding path)', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 2, 8, 7] }, { name: 'w', shape: [3, 2, 3, 2] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { strides: [2, 3], pads: [1, 0, 2, 1], dilations: [2, 1] }),
    });
  });
  it('groups with bias, large end pad (crop path)', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [3, 4, 5, 5] }, { name: 'w', shape: [6, 2, 2, 3] }, { name: 'b', shape: [6] }],
      build: (g, v) => g.op('Conv', [v.x, v.w, v.b], { group: 2, pads: [0, 1, 2, 2], strides: [1, 2] }),
    });
  });
  it('depthwise', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 6, 6] }, { name: 'w', shape: [3, 1, 3, 3] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { group: 3, pads: [1, 1, 1, 1], strides: [2, 2] }),
    });
  });
  it('1-D', async () => {
    await gradcheck({
      ...f32,
      inputs: [{ name: 'x', shape: [2, 3, 9] }, { name: 'w', shape: [2, 3, 3] }],
      build: (g, v) => g.op('Conv', [v.x, v.w], { strides: [2], pads: [1, 0], dilations: [2] }),
    });
  });
});
