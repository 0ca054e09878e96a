// d(a·b) = (dy·b, dy·a), unbroadcast by the walker.
import { registerVjp } from '../registry.js';

registerVjp('Mul', ({ g, node, dOut, needs, scope }) => {
  const [a, b] = node.inputs;
  const dy = dOut[0]!;
  return [needs[0] ? g.op('Mul', [dy, b], {}, { scope }) : undefined, needs[1] ? g.op('Mul', [dy, a], {}, { scope }) : undefined];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
