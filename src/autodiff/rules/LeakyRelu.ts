// y = x if x > 0 else α·x: dx = dy where x > 0, else α·dy.
import type { GradConfig } from '../types.js';
import { floatAttr } from './attrs.js';

export const leakyReluGrad: GradConfig = {
  op: 'LeakyRelu',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], dy = dOut[0]!, dt = g.dtype(x);
    const alpha = floatAttr(node.attrs, 'alpha', 0.01);
    const pos = g.op('Greater', [x, g.constant(0, dt)], {}, { scope });
    return [g.op('Where', [pos, dy, g.op('Mul', [dy, g.constant(alpha, dt)], {}, { scope })], {}, { scope })];
  },
};
