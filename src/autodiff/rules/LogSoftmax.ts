// y = log_softmax(x, axis): dx = dy − exp(y)·Σ_axis(dy).
import type { GradConfig } from '../types.js';

export const logSoftmaxGrad: GradConfig = {
  op: 'LogSoftmax',
  vjp: ({ g, node, dOut, scope }) => {
    const y = node.outputs[0], dy = dOut[0]!;
    const axis = typeof node.attrs.axis === 'number' ? node.attrs.axis : -1;
    const s = g.op('ReduceSum', [dy, g.ints([axis])], { keepdims: 1 }, { scope });
    return [g.op('Sub', [dy, g.op('Mul', [g.op('Exp', [y], {}, { scope }), s], {}, { scope })], {}, { scope })];
  },
};
