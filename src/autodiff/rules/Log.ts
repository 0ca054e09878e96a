// y = ln x: dx = dy/x.
import type { GradConfig } from '../types.js';

export const logGrad: GradConfig = {
  op: 'Log',
  vjp: ({ g, node, dOut, scope }) => [g.op('Div', [dOut[0]!, node.inputs[0]], {}, { scope })],
};
