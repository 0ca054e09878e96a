// y = log(1 + eˣ): dx = dy·σ(x).
import { registerVjp } from '../registry.js';

registerVjp('Softplus', ({ g, node, dOut, scope }) => [g.op('Mul', [dOut[0]!, g.op('Sigmoid', [node.inputs[0]], {}, { scope })], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
