// y = √x: dx = dy·0.5/y.
import type { GradConfig } from '../types.js';

export const sqrtGrad: GradConfig = {
  op: 'Sqrt',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0];
    return [g.op('Mul', [g.op('Div', [dOut[0]!, y], {}, { scope }), g.constant(0.5, g.dtype(y))], {}, { scope })];
  },
};
