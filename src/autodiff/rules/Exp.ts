// y = eˣ: dx = dy·y.
import { registerVjp } from '../registry.js';

registerVjp('Exp', ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, node.outputs[0]], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
