// The conv-net rules composed: Conv → batchNormTraining → Relu → MaxPool → AveragePool →
// Flatten → dropout → Gemm, checked end to end against finite differences (float32: Conv has no
// float64 kernel in onnxruntime's CPU EP).
import { describe, it } from 'vitest';
import { batchNormTraining } from '../src/autodiff/composite/batchnorm.js';
import { dropout, dropoutState } from '../src/autodiff/composite/dropout.js';
import { gradcheck } from '../src/autodiff/gradcheck.js';

describe('conv-net gradients end to end', () => {
  it('every parameter and the input', async () => {
    await gradcheck({
      dtype: 'float32', eps: 1e-2, atol: 2e-2, rtol: 5e-2, maxElements: 16, seed: 7,
      inputs: [
        { name: 'x', shape: [3, 2, 6, 6] }, { name: 'w', shape: [4, 2, 3, 3] }, { name: 'b', shape: [4] },
        { name: 'gamma', shape: [4], range: [0.5, 1.5] }, { name: 'beta', shape: [4] },
        { name: 'rm', shape: [4], differentiable: false }, { name: 'rv', shape: [4], differentiable: false },
        { name: 'fc', shape: [5, 4] }, { name: 'rng', shape: [2], dtype: 'int64', data: dropoutState(11, 2) },
      ],
      build: (g, v) => {
        const c = g.op('Conv', [v.x, v.w, v.b], { pads: [1, 1, 1, 1], strides: [1, 1] });
        const bn = batchNormTraining(g, c, v.gamma, v.beta, v.rm, v.rv);
        const mp = g.node('MaxPool', [g.op('Relu', [bn.y])], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 1 })[0];
        const ap = g.op('AveragePool', [mp], { kernel_shape: [3, 3] });
        const d = dropout(g, g.op('Flatten', [ap], { axis: 1 }), 0.25, v.rng);
        return g.op('Gemm', [d.y, v.fc], { transB: 1 });
      },
    });
  });
});
