import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';

describe('BatchNormalization (inference form) VJP', () => {
  it('x, scale, B against finite differences; mean/var are constants', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [3, 4, 2, 3] }, { name: 's', shape: [4] }, { name: 'b', shape: [4] },
        { name: 'm', shape: [4], differentiable: false }, { name: 'v', shape: [4], range: [0.2, 2], differentiable: false }],
      build: (g, v) => g.op('BatchNormalization', [v.x, v.s, v.b, v.m, v.v], { epsilon: 1e-3 }),
    });
    await gradcheck({
      inputs: [{ name: 'x', shape: [5, 3] }, { name: 's', shape: [3] }, { name: 'b', shape: [3] },
        { name: 'm', shape: [3], differentiable: false }, { name: 'v', shape: [3], range: [0.2, 2], differentiable: false }],
      build: (g, v) => g.op('BatchNormalization', [v.x, v.s, v.b, v.m, v.v]),
    });
    await gradcheck({ // epsilon given in the forced-float form
      inputs: [{ name: 'x', shape: [4, 2] }, { name: 's', shape: [2] }, { name: 'b', shape: [2] },
        { name: 'm', shape: [2], differentiable: false }, { name: 'v', shape: [2], range: [0.2, 2], differentiable: false }],
      build: (g, v) => g.op('BatchNormalization', [v.x, v.s, v.b, v.m, v.v], { epsilon: { float: 0.25 } }),
    });
  });
  it('training_mode=1 points to batchNormTraining', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3, 4]);
    const c = g.input('c', 'float32', [3]);
    const [y] = g.node('BatchNormalization', [x, c, c, c, c], { training_mode: 1 });
    const loss = g.op('ReduceSum', [y], { keepdims: 0 });
    expect(() => gradients(g, loss, [x])).toThrow(/batchNormTraining/);
  });
});
