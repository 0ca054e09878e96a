// y = aᵖ with p not on the gradient path: da = dy·p·aᵖ⁻¹. A gradient w.r.t. p is refused clearly.
import { ONNX_DTYPE } from '../../onnx/dtypes.js';
import type { GradConfig } from '../types.js';

export const powGrad: GradConfig = {
  op: 'Pow',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [a, p] = node.inputs;
    if (needs[1]) throw new Error(`${scope}: Pow needs a gradient w.r.t. its exponent "${p}", which is not supported; use a constant exponent (or Exp(p·Log(a)))`);
    if (!needs[0]) return [undefined, undefined];
    const dt = g.dtype(a), dy = dOut[0]!;
    const mul = (x: string, y: string) => g.op('Mul', [x, y], {}, { scope });
    const c = g.constValue(p);
    if (c && c.length === 1) {
      const k = c[0];
      if (k === 1) return [dy, undefined];
      const d = k === 2 ? a : g.op('Pow', [a, g.constant(k - 1, dt)], {}, { scope });
      return [mul(dy, mul(d, g.constant(k, dt))), undefined];
    }
    const pf = g.dtype(p) === dt ? p : g.op('Cast', [p], { to: ONNX_DTYPE[dt] }, { scope });
    const d = g.op('Pow', [a, g.op('Sub', [pf, g.constant(1, dt)], {}, { scope })], {}, { scope });
    return [mul(dy, mul(d, pf)), undefined];
  },
};
