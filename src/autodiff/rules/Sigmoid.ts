// y = σ(x): dx = dy·y·(1 − y).
import type { GradConfig } from '../types.js';

export const sigmoidGrad: GradConfig = {
  op: 'Sigmoid',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0];
    const oneMinus = g.op('Sub', [g.constant(1, g.dtype(y)), y], {}, { scope });
    return [g.op('Mul', [g.op('Mul', [dOut[0]!, y], {}, { scope }), oneMinus], {}, { scope })];
  },
};
