// y = x: dx = dy.
import { registerVjp } from '../registry.js';

registerVjp('Identity', ({ dOut }) => [dOut[0]]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
