// d(−x) = −dy.
import { registerVjp } from '../registry.js';

registerVjp('Neg', ({ g, dOut, scope }) => [g.op('Neg', [dOut[0]!], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
