// y = cond ? a : b: da = cond ? dy : 0, db = cond ? 0 : dy (cond gets none; unbroadcast centrally).
import type { GradConfig } from '../types.js';

export const whereGrad: GradConfig = {
  op: 'Where',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [c] = node.inputs, dy = dOut[0]!, zero = g.constant(0, g.dtype(dy));
    return [
      undefined,
      needs[1] ? g.op('Where', [c, dy, zero], {}, { scope }) : undefined,
      needs[2] ? g.op('Where', [c, zero, dy], {}, { scope }) : undefined,
    ];
  },
};
