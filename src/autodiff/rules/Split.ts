// (y₁…yₙ) = split(x, axis): dx = concat(dy₁…dyₙ, axis), zeros for outputs without a gradient.
import { normAxis } from '../../onnx/infer.js';
import { zeros } from '../indices.js';
import type { GradConfig } from '../types.js';

export const splitGrad: GradConfig = {
  op: 'Split',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0], dt = g.dtype(x);
    const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, g.shape(x).length);
    const parts = node.outputs.map((y, i) => dOut[i] ?? zeros(g, dt, g.shape(y), scope));
    return [parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis }, { scope })];
  },
};
