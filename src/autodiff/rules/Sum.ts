// y = x₁ + … + xₙ (broadcasting): dxᵢ = dy, unbroadcast by the walker.
import { registerVjp } from '../registry.js';

registerVjp('Sum', ({ node, dOut }) => node.inputs.map(() => dOut[0]));

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
