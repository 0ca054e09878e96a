// y = log Σ_axes eˣ: dx = broadcast(dy)·exp(x − y) (the softmax over the axes).
import type { GradConfig } from '../types.js';
import { reduceAxes } from './attrs.js';

export const reduceLogSumExpGrad: GradConfig = {
  op: 'ReduceLogSumExp',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], shape = g.shape(x);
    const kept = g.ints(shape.map((d, i) => (reduceAxes(node.attrs, shape.length).includes(i) ? 1 : d)));
    const p = g.op('Exp', [g.op('Sub', [x, g.op('Reshape', [node.outputs[0], kept], {}, { scope })], {}, { scope })], {}, { scope });
    return [g.op('Mul', [p, g.op('Reshape', [dOut[0]!, kept], {}, { scope })], {}, { scope })];
  },
};
