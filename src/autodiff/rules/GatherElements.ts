// Y = GatherElements(X, idx, axis): dX = ScatterElements(zeros, idx, dY, reduction 'add').
import { normAxis } from '../../onnx/infer.js';
import { positiveIndices, zeros } from '../indices.js';
import type { GradConfig } from '../types.js';

export const gatherElementsGrad: GradConfig = {
  op: 'GatherElements',
  vjp: ({ g, node, dOut, needs, scope }) => {
    if (!needs[0]) return [undefined, undefined];
    const [x, idx] = node.inputs;
    const xs = g.shape(x);
    const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, xs.length);
    const pos = positiveIndices(g, idx, xs[axis], scope);
    return [g.op('ScatterElements', [zeros(g, g.dtype(x), xs, scope), pos, dOut[0]!], { axis, reduction: 'add' }, { scope }), undefined];
  },
};
