// y = broadcast(x, shape): dx = dy, summed back to x's shape by the walker's central unbroadcast.
import type { GradConfig } from '../types.js';

export const expandGrad: GradConfig = { op: 'Expand', vjp: ({ dOut }) => [dOut[0], undefined] };
