// Y = Conv(X, W, B) with strides s, pads p, dilations d, group g (any spatial rank; 2-D is the
// tested case). dX = ConvTranspose(dY, W) with the same s/p/d/g and an end crop/output_padding
// that restores X's size. dW (and dB with one group) = im2col patches of X contracted with dY by
// MatMul, in batch chunks (../im2col.ts); otherwise dB = sum of dY over batch and space.
import { convWeightGrad } from '../im2col.js';
import { range, transposeAttrs, windowOf } from '../spatial.js';
import type { GradConfig } from '../types.js';

export const convGrad: GradConfig = {
  op: 'Conv',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [x, w] = node.inputs;
    const dy = dOut[0]!;
    const xs = g.shape(x), ws = g.shape(w), ys = g.shape(dy);
    const n = xs.length - 2, group = typeof node.attrs.group === 'number' ? node.attrs.group : 1;
    const win = windowOf(node.attrs, ws.slice(2), 'Conv');
    const res: (string | undefined)[] = [undefined, undefined, undefined];
    if (needs[0]) {
      res[0] = g.op('ConvTranspose', [dy, w], transposeAttrs(win, xs.slice(2), ys.slice(2), group), { scope });
    }
    if (needs[1]) {
      const r = convWeightGrad(g, { x, dy, win, group, bias: !!needs[2], scope });
      res[1] = r.dw;
      res[2] = r.db;
    }
    if (needs[2] && !res[2]) res[2] = g.op('ReduceSum', [dy, g.ints([0, ...range(n + 2, 2)])], { keepdims: 0 }, { scope });
    return res;
  },
};
