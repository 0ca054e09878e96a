// y = sum over axes: dx = broadcast of dy (reshaped to keepdims form) back to x's shape.
import { normAxis } from '../../onnx/infer.js';
import type { GradConfig } from '../types.js';

export const reduceSumGrad: GradConfig = {
  op: 'ReduceSum',
  vjp: ({ g, node, dOut, scope }) => {
    const x = node.inputs[0];
    const shape = g.shape(x);
    const axesIn = node.inputs[1] ? g.constValue(node.inputs[1]) : undefined;
    if (node.inputs[1] && !axesIn) throw new Error(`${scope}: ReduceSum gradient needs constant axes`);
    const noop = node.attrs.noop_with_empty_axes === 1;
    if ((!axesIn || axesIn.length === 0) && noop) return [dOut[0]];
    const axes = new Set(axesIn && axesIn.length ? axesIn.map((a) => normAxis(a, shape.length)) : shape.map((_, i) => i));
    const kept = shape.map((d, i) => (axes.has(i) ? 1 : d));
    const dy = g.op('Reshape', [dOut[0]!, g.ints(kept)], {}, { scope });
    return [g.op('Expand', [dy, g.ints(shape)], {}, { scope })];
  },
};
