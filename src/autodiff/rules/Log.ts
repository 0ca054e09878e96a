// y = ln x: dx = dy/x.
import { registerVjp } from '../registry.js';

registerVjp('Log', ({ g, node, dOut, scope }) => [g.op('Div', [dOut[0]!, node.inputs[0]], {}, { scope })]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
