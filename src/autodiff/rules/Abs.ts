// y = |x|: dx = dy·sign(x) (0 at x = 0).
import { registerVjp } from '../registry.js';

registerVjp('Abs', ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, g.op('Sign', [node.inputs[0]], {}, { scope })], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
