// y = 1/x: dx = −dy·y².
import { registerVjp } from '../registry.js';

registerVjp('Reciprocal', ({ g, node, dOut, scope }) => {
  const y = node.outputs[0];
  return [g.op('Neg', [g.op('Mul', [dOut[0]!, g.op('Mul', [y, y], {}, { scope })], {}, { scope })], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
