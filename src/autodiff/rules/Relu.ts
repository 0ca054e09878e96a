// y = max(x, 0): dx = dy where y > 0, else 0.
import type { GradConfig } from '../types.js';

export const reluGrad: GradConfig = {
  op: 'Relu',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0], zero = g.constant(0, g.dtype(y));
    return [g.op('Where', [g.op('Greater', [y, zero], {}, { scope }), dOut[0]!, zero], {}, { scope })];
  },
};
