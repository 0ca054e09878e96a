import { describe, it } from 'vitest';
import { gradcheck } from '../gradcheck.js';
import type { Graph } from '../../onnx/graph.js';
import { Rng } from '../../random.js';

// Distinct, well-separated values so a ±eps probe never changes which element is the maximum.
function distinct(shape: number[], seed: number): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const v = Float64Array.from({ length: n }, (_, i) => i * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

const single = (attrs: Record<string, unknown>) => (g: Graph, v: Record<string, string>) => g.node('MaxPool', [v.x], attrs as never, { outputs: 1 })[0];

describe('MaxPool VJP', () => {
  it('2×2 stride 2 (forward without Indices output: the rule adds one)', async () => {
    const shape = [2, 3, 4, 6];
    await gradcheck({ inputs: [{ name: 'x', shape, data: distinct(shape, 1), differentiable: true }], build: single({ kernel_shape: [2, 2], strides: [2, 2] }) });
  });
  it('overlapping 3×3 stride 1 with padding, dilation, ceil mode; Indices output reused', async () => {
    const shape = [2, 2, 7, 6];
    await gradcheck({
      inputs: [{ name: 'x', shape, data: distinct(shape, 2), differentiable: true }],
      build: (g, v) => g.node('MaxPool', [v.x], { kernel_shape: [3, 3], pads: [1, 0, 1, 1], dilations: [1, 2], strides: [2, 1], ceil_mode: 1 })[0],
      maxElements: 84,
    });
  });
});
