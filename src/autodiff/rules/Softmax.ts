// y = softmax(x, axis): dx = y·(dy − Σ_axis(dy·y)).
import type { GradConfig } from '../types.js';

export const softmaxGrad: GradConfig = {
  op: 'Softmax',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0];
    const axis = typeof node.attrs.axis === 'number' ? node.attrs.axis : -1;
    const dyy = g.op('Mul', [dOut[0]!, y], {}, { scope });
    const s = g.op('ReduceSum', [dyy, g.ints([axis])], { keepdims: 1 }, { scope });
    return [g.op('Sub', [dyy, g.op('Mul', [y, s], {}, { scope })], {}, { scope })];
  },
};
