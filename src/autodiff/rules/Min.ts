// y = min(x₁…xₙ) (broadcasting): dxᵢ = dy·[xᵢ = y]/#ties (same routing as Max).
import { registerVjp } from '../registry.js';
import { selectVjp } from './Max.js';

registerVjp('Min', selectVjp);

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
