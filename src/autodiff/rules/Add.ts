// d(a+b) = (dy, dy); the walker unbroadcasts each to its input's shape.
import type { GradConfig } from '../types.js';

export const addGrad: GradConfig = { op: 'Add', vjp: ({ dOut }) => [dOut[0], dOut[0]] };
