// y = Σ_axes x²: dx = 2x·broadcast(dy).
import type { GradConfig } from '../types.js';
import { reduceAxes } from './attrs.js';

export const reduceSumSquareGrad: GradConfig = {
  op: 'ReduceSumSquare',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], shape = g.shape(x);
    const axes = reduceAxes(node.attrs, shape.length);
    const dy = g.op('Reshape', [dOut[0]!, g.ints(shape.map((d, i) => (axes.includes(i) ? 1 : d)))], {}, { scope });
    return [g.op('Mul', [g.op('Mul', [x, g.constant(2, g.dtype(x))], {}, { scope }), dy], {}, { scope })];
  },
};
