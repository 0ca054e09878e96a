// Y[n,c] = mean of X[n,c,…] over space: dX = dY / (spatial size), broadcast back over space.
import { numel } from '../../tensor.js';
import type { GradConfig } from '../types.js';

export const globalAveragePoolGrad: GradConfig = {
  op: 'GlobalAveragePool',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], xs = g.shape(x);
    const scaled = g.op('Mul', [dOut[0]!, g.constant(1 / numel(xs.slice(2)), g.dtype(x))], {}, { scope });
    return [g.op('Expand', [scaled, g.ints(xs)], {}, { scope })];
  },
};
