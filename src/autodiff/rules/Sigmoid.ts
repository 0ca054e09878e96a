// y = σ(x): dx = dy·y·(1 − y).
import { registerVjp } from '../registry.js';

registerVjp('Sigmoid', ({ g, node, dOut, scope }) => {
  const y = node.outputs[0];
  const oneMinus = g.op('Sub', [g.constant(1, g.dtype(y)), y], {}, { scope });
  return [g.op('Mul', [g.op('Mul', [dOut[0]!, y], {}, { scope }), oneMinus], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
