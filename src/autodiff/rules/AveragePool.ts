// Y = AveragePool(X): each output spreads dY / (its window's divisor) evenly over its window.
// The divisor per output position is computed here from the attributes (kernel size with
// count_include_pad=1, else only the elements inside X), then a ConvTranspose with a ones kernel
// over (N·C) single-channel images scatters the shares back onto X's grid.
import { numel } from '../../tensor.js';
import { reshape, transposeAttrs, windowOf } from '../spatial.js';
import type { GradConfig } from '../types.js';

/** Per-axis window sizes for each output position, then their outer product. */
function divisors(size: number[], out: number[], k: number[], s: number[], pads: number[], includePad: boolean): number[] {
  const n = size.length;
  const perAxis = size.map((h, i) =>
    Array.from({ length: out[i] }, (_, o) => {
      const start = o * s[i] - pads[i];
      const end = Math.min(start + k[i], h + pads[i + n]);
      return includePad ? end - start : Math.max(Math.min(end, h) - Math.max(start, 0), 1);
    }),
  );
  let acc = [1];
  for (const axis of perAxis) acc = acc.flatMap((a) => axis.map((b) => a * b));
  return acc;
}

export const averagePoolGrad: GradConfig = {
  op: 'AveragePool',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], dy = dOut[0]!;
    const xs = g.shape(x), ys = g.shape(dy), dt = g.dtype(x);
    const kernel = node.attrs.kernel_shape as number[];
    if (Array.isArray(node.attrs.dilations) && node.attrs.dilations.some((d) => d !== 1)) {
      throw new Error(`${scope}: AveragePool gradient does not support dilations`);
    }
    const win = windowOf({ ...node.attrs, dilations: undefined }, kernel, 'AveragePool');
    const sp = xs.slice(2), osp = ys.slice(2);
    const div = divisors(sp, osp, kernel, win.strides, win.pads, node.attrs.count_include_pad === 1);
    const inv = g.constant(div.map((d) => 1 / d), dt, [1, 1, ...osp]);
    const share = reshape(g, g.op('Mul', [dy, inv], {}, { scope }), [xs[0] * xs[1], 1, ...osp], scope);
    const ones = g.constant(new Array(numel(kernel)).fill(1), dt, [1, 1, ...kernel]);
    const dx = g.op('ConvTranspose', [share, ones], transposeAttrs(win, sp, osp), { scope });
    return [reshape(g, dx, xs, scope)];
  },
};
