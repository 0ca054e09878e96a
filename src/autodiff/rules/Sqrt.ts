// y = √x: dx = dy·0.5/y.
import { registerVjp } from '../registry.js';

registerVjp('Sqrt', ({ g, node, dOut, scope }) => {
  const y = node.outputs[0];
  return [g.op('Mul', [g.op('Div', [dOut[0]!, y], {}, { scope }), g.constant(0.5, g.dtype(y))], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
