// y = broadcast(x, shape): dx = dy, summed back to x's shape by the walker's central unbroadcast.
import { registerVjp } from '../registry.js';

registerVjp('Expand', ({ dOut }) => [dOut[0], undefined]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
