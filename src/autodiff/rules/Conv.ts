// Y = Conv(X, W, B) with strides s, pads p, dilations d, group g (any spatial rank; 2-D is the
// tested case). dX = ConvTranspose(dY, W) with the same s/p/d/g and an end crop/output_padding
// that restores X's size. dW = Conv over X and dY with batch and channels swapped (per group) and
// stride↔dilation exchanged, sliced to the kernel size. dB = sum of dY over batch and space.
import { range, reshape, transposeAttrs, windowOf } from '../spatial.js';
import { registerVjp } from '../registry.js';

registerVjp('Conv', ({ g, node, dOut, needs, scope }) => {
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
    const [N, C] = xs, cg = C / group;
    // Xr[c', gi·N + n] = X[n, gi·C/g + c']: batch becomes channels, grouped like the weight.
    const x5 = reshape(g, x, [N, group, cg, ...xs.slice(2)], scope);
    const xt = g.op('Transpose', [x5], { perm: [2, 1, 0, ...range(n + 3, 3)] }, { scope });
    const xr = reshape(g, xt, [cg, group * N, ...xs.slice(2)], scope);
    const dyt = g.op('Transpose', [dy], { perm: [1, 0, ...range(n + 2, 2)] }, { scope });
    let dw = g.op('Conv', [xr, dyt], { strides: win.dilations, dilations: win.strides, pads: win.pads, group }, { scope });
    const got = g.shape(dw).slice(2);
    if (got.some((k, i) => k !== win.kernel[i])) {
      dw = g.op('Slice', [dw, g.ints(Array(n).fill(0)), g.ints(win.kernel), g.ints(range(n + 2, 2))], {}, { scope });
    }
    res[1] = g.op('Transpose', [dw], { perm: [1, 0, ...range(n + 2, 2)] }, { scope });
  }
  if (needs[2]) res[2] = g.op('ReduceSum', [dy, g.ints([0, ...range(n + 2, 2)])], { keepdims: 0 }, { scope });
  return res;
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
