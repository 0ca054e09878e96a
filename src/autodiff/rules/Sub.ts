// d(a−b) = (dy, −dy); the walker unbroadcasts each to its input's shape.
import { registerVjp } from '../registry.js';

registerVjp('Sub', ({ g, dOut, needs, scope }) => [dOut[0], needs[1] ? g.op('Neg', [dOut[0]!], {}, { scope }) : undefined]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
