// Unsqueeze only changes the shape: dx = reshape(dy, shape(x)).
import type { GradConfig } from '../types.js';

export const unsqueezeGrad: GradConfig = {
  op: 'Unsqueeze',
  vjp: ({ g, node, dOut, scope }) => [g.op('Reshape', [dOut[0]!, g.ints(g.shape(node.inputs[0]))], {}, { scope }), undefined],
};
