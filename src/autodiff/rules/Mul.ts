// d(a·b) = (dy·b, dy·a), unbroadcast by the walker.
import type { GradConfig } from '../types.js';

export const mulGrad: GradConfig = {
  op: 'Mul',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [a, b] = node.inputs;
    const dy = dOut[0]!;
    return [needs[0] ? g.op('Mul', [dy, b], {}, { scope }) : undefined, needs[1] ? g.op('Mul', [dy, a], {}, { scope }) : undefined];
  },
};
