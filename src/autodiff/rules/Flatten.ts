// Flatten only changes the shape: dx = reshape(dy, shape(x)).
import { registerVjp } from '../registry.js';

registerVjp('Flatten', ({ g, node, dOut, scope }) => [g.op('Reshape', [dOut[0]!, g.ints(g.shape(node.inputs[0]))], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
