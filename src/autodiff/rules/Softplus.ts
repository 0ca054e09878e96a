// y = log(1 + eˣ): dx = dy·σ(x).
import type { GradConfig } from '../types.js';

export const softplusGrad: GradConfig = {
  op: 'Softplus',
  vjp: ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, g.op('Sigmoid', [node.inputs[0]], {}, { scope })], {}, { scope })],
};
