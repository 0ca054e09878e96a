// y = eˣ: dx = dy·y.
import type { GradConfig } from '../types.js';

export const expGrad: GradConfig = {
  op: 'Exp',
  vjp: ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, node.outputs[0]], {}, { scope })],
};
