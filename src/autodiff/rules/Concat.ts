// y = concat(x₁…xₙ, axis): dxᵢ = the matching piece of split(dy, sizes, axis).
import { normAxis } from '../../onnx/infer.js';
import type { GradConfig } from '../types.js';

export const concatGrad: GradConfig = {
  op: 'Concat',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const dy = dOut[0]!;
    if (node.inputs.length === 1) return [dy];
    const rank = g.shape(dy).length;
    const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, rank);
    const sizes = node.inputs.map((x) => g.shape(x)[axis]);
    const parts = g.node('Split', [dy, g.ints(sizes)], { axis }, { scope });
    return parts.map((p, i) => (needs[i] ? p : undefined));
  },
};
