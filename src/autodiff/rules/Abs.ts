// y = |x|: dx = dy·sign(x) (0 at x = 0).
import type { GradConfig } from '../types.js';

export const absGrad: GradConfig = {
  op: 'Abs',
  vjp: ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, g.op('Sign', [node.inputs[0]], {}, { scope })], {}, { scope })],
};
