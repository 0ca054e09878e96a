// y = min(x₁…xₙ) (broadcasting): dxᵢ = dy·[xᵢ = y]/#ties (same routing as Max).
import { registerVjp } from '../registry.js';
import { selectVjp } from './Max.js';

registerVjp('Min', selectVjp);
