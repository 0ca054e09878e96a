// y = erf(x): dx = dy·(2/√π)·exp(−x²). (Gelu in opset 17 is built from Erf/Mul/Add by src/nn.)
import type { GradConfig } from '../types.js';

export const erfGrad: GradConfig = {
  op: 'Erf',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], dt = g.dtype(x);
    const e = g.op('Exp', [g.op('Neg', [g.op('Mul', [x, x], {}, { scope })], {}, { scope })], {}, { scope });
    return [g.op('Mul', [dOut[0]!, g.op('Mul', [e, g.constant(2 / Math.sqrt(Math.PI), dt)], {}, { scope })], {}, { scope })];
  },
};
