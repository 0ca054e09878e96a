// y = transpose(x, perm): dx = transpose(dy, perm⁻¹).
import type { GradConfig } from '../types.js';

export const transposeGrad: GradConfig = {
  op: 'Transpose',
  vjp: ({ g, node, dOut, scope }) => {
    const rank = g.shape(node.inputs[0]).length;
    const perm = Array.isArray(node.attrs.perm) ? (node.attrs.perm as number[]) : [...Array(rank).keys()].reverse();
    const inv = perm.map((_, i) => perm.indexOf(i));
    return [g.op('Transpose', [dOut[0]!], { perm: inv }, { scope })];
  },
};
