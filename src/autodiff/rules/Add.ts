// d(a+b) = (dy, dy); the walker unbroadcasts each to its input's shape.
import { registerVjp } from '../registry.js';

registerVjp('Add', ({ dOut }) => [dOut[0], dOut[0]]);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
