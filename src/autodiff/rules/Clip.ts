// y = clip(x, min, max): dx = dy where min < x < max; dmin = dy where x < min, dmax = dy where x > max.
import type { GradConfig } from '../types.js';

export const clipGrad: GradConfig = {
  op: 'Clip',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [x, lo, hi] = node.inputs, dy = dOut[0]!, zero = g.constant(0, g.dtype(x));
    const below = lo ? g.op('Less', [x, lo], {}, { scope }) : undefined;
    const above = hi ? g.op('Greater', [x, hi], {}, { scope }) : undefined;
    const outside = below && above ? g.op('Or', [below, above], {}, { scope }) : below ?? above;
    const pick = (mask: string, inside: boolean) => g.op('Where', [mask, inside ? zero : dy, inside ? dy : zero], {}, { scope });
    return [
      needs[0] ? (outside ? pick(outside, true) : dy) : undefined,
      needs[1] && below ? pick(below, false) : undefined,
      needs[2] && above ? pick(above, false) : undefined,
    ];
  },
};
