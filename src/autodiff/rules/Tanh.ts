// y = tanh(x): dx = dy·(1 − y²).
import type { GradConfig } from '../types.js';

export const tanhGrad: GradConfig = {
  op: 'Tanh',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0];
    const oneMinus = g.op('Sub', [g.constant(1, g.dtype(y)), g.op('Mul', [y, y], {}, { scope })], {}, { scope });
    return [g.op('Mul', [dOut[0]!, oneMinus], {}, { scope })];
  },
};
