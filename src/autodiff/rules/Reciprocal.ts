// y = 1/x: dx = −dy·y².
import type { GradConfig } from '../types.js';

export const reciprocalGrad: GradConfig = {
  op: 'Reciprocal',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0];
    return [g.op('Neg', [g.op('Mul', [dOut[0]!, g.op('Mul', [y, y], {}, { scope })], {}, { scope })], {}, { scope })];
  },
};
