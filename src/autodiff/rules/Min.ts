// y = min(x₁…xₙ) (broadcasting): dxᵢ = dy·[xᵢ = y]/#ties (same routing as Max).
import type { GradConfig } from '../types.js';
import { selectVjp } from './Max.js';

export const minGrad: GradConfig = { op: 'Min', vjp: selectVjp };
