// y = a/b: da = dy/b, db = −dy·y/b (unbroadcast by the walker).
import type { GradConfig } from '../types.js';

export const divGrad: GradConfig = {
  op: 'Div',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [, b] = node.inputs;
    const dy = dOut[0]!;
    const da = needs[0] || needs[1] ? g.op('Div', [dy, b], {}, { scope }) : undefined;
    const db = needs[1] ? g.op('Neg', [g.op('Mul', [da!, node.outputs[0]], {}, { scope })], {}, { scope }) : undefined;
    return [needs[0] ? da : undefined, db];
  },
};
