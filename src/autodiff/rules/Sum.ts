// y = x₁ + … + xₙ (broadcasting): dxᵢ = dy, unbroadcast by the walker.
import type { GradConfig } from '../types.js';

export const sumGrad: GradConfig = { op: 'Sum', vjp: ({ node, dOut }) => node.inputs.map(() => dOut[0]) };
