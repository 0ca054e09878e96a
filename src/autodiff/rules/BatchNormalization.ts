// Inference-form BatchNormalization: y = (x − mean)·k + B with k = scale / sqrt(var + eps), where
// mean and var are inputs treated as constants (no gradient). dX = dY·k, dScale = Σ dY·x̂,
// dB = Σ dY, sums over every axis except the channel axis 1. Training mode is built from
// differentiable ops instead: see composite/batchnorm.ts.
import { range } from '../spatial.js';
import type { GradConfig } from '../types.js';
import { floatAttr } from './attrs.js';

export const batchNormalizationGrad: GradConfig = {
  op: 'BatchNormalization',
  vjp: ({ g, node, dOut, needs, scope }) => {
    if (node.attrs.training_mode === 1) {
      throw new Error(`${scope}: no gradient for BatchNormalization with training_mode=1; build training batch norm with batchNormTraining() (src/autodiff/composite/batchnorm.ts)`);
    }
    const [x, scale, , mean, variance] = node.inputs;
    const dy = dOut[0]!;
    const xs = g.shape(x), dt = g.dtype(x);
    const eps = floatAttr(node.attrs, 'epsilon', 1e-5);
    const chan = [1, xs[1], ...xs.slice(2).map(() => 1)];
    const axes = g.ints([0, ...range(xs.length, 2)]);
    const op = (type: string, inputs: string[], attrs = {}) => g.op(type, inputs, attrs, { scope });
    const invStd = op('Reshape', [op('Div', [g.constant(1, dt), op('Sqrt', [op('Add', [variance, g.constant(eps, dt)])])]), g.ints(chan)]);
    const res: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    if (needs[0]) res[0] = op('Mul', [dy, op('Mul', [invStd, op('Reshape', [scale, g.ints(chan)])])]);
    if (needs[1]) {
      const xhat = op('Mul', [op('Sub', [x, op('Reshape', [mean, g.ints(chan)])]), invStd]);
      res[1] = op('ReduceSum', [op('Mul', [dy, xhat]), axes], { keepdims: 0 });
    }
    if (needs[2]) res[2] = op('ReduceSum', [dy, axes], { keepdims: 0 });
    return res;
  },
};
