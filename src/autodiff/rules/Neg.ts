// d(−x) = −dy.
import type { GradConfig } from '../types.js';

export const negGrad: GradConfig = { op: 'Neg', vjp: ({ g, dOut, scope }) => [g.op('Neg', [dOut[0]!], {}, { scope })] };
