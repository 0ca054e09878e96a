// y = tanh(x): dx = dy·(1 − y²).
import { registerVjp } from '../registry.js';

registerVjp('Tanh', ({ g, node, dOut, scope }) => {
  const y = node.outputs[0];
  const oneMinus = g.op('Sub', [g.constant(1, g.dtype(y)), g.op('Mul', [y, y], {}, { scope })], {}, { scope });
  return [g.op('Mul', [dOut[0]!, oneMinus], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
