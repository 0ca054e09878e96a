// y = mean over axes (attribute in opset 17): dx = broadcast(dy reshaped to keepdims form) / count.
import type { GradConfig } from '../types.js';
import { reduceAxes } from './attrs.js';

export const reduceMeanGrad: GradConfig = {
  op: 'ReduceMean',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], shape = g.shape(x);
    const axes = reduceAxes(node.attrs, shape.length);
    const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const count = shape.reduce((n, d, i) => (axes.includes(i) ? n * d : n), 1);
    const dy = g.op('Reshape', [dOut[0]!, g.ints(kept)], {}, { scope });
    const scaled = g.op('Mul', [dy, g.constant(1 / count, g.dtype(x))], {}, { scope });
    return [g.op('Expand', [scaled, g.ints(shape)], {}, { scope })];
  },
};
