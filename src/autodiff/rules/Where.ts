// y = cond ? a : b: da = cond ? dy : 0, db = cond ? 0 : dy (cond gets none; unbroadcast centrally).
import { registerVjp } from '../registry.js';

registerVjp('Where', ({ g, node, dOut, needs, scope }) => {
  const [c] = node.inputs, dy = dOut[0]!, zero = g.constant(0, g.dtype(dy));
  return [
    undefined,
    needs[1] ? g.op('Where', [c, dy, zero], {}, { scope }) : undefined,
    needs[2] ? g.op('Where', [c, zero, dy], {}, { scope }) : undefined,
  ];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
