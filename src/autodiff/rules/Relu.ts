// y = max(x, 0): dx = dy where y > 0, else 0.
import { registerVjp } from '../registry.js';

registerVjp('Relu', ({ g, node, dOut, scope }) => {
  const y = node.outputs[0], zero = g.constant(0, g.dtype(y));
  return [g.op('Where', [g.op('Greater', [y, zero], {}, { scope }), dOut[0]!, zero], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
