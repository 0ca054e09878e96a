// d(a−b) = (dy, −dy); the walker unbroadcasts each to its input's shape.
import type { GradConfig } from '../types.js';

export const subGrad: GradConfig = {
  op: 'Sub',
  vjp: ({ g, dOut, needs, scope }) => [dOut[0], needs[1] ? g.op('Neg', [dOut[0]!], {}, { scope }) : undefined],
};
