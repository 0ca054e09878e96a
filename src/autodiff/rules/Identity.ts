// y = x: dx = dy.
import type { GradConfig } from '../types.js';

export const identityGrad: GradConfig = { op: 'Identity', vjp: ({ dOut }) => [dOut[0]] };
