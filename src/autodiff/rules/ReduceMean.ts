// y = mean over axes (attribute in opset 17): dx = broadcast(dy reshaped to keepdims form) / count.
import { normAxis } from '../../onnx/infer.js';
import { registerVjp } from '../registry.js';

registerVjp('ReduceMean', ({ g, node, dOut, scope }) => {
  const x = node.inputs[0], shape = g.shape(x);
  const given = Array.isArray(node.attrs.axes) ? (node.attrs.axes as number[]) : [];
  const axes = new Set(given.length ? given.map((a) => normAxis(a, shape.length)) : shape.map((_, i) => i));
  const kept = shape.map((d, i) => (axes.has(i) ? 1 : d));
  const count = shape.reduce((n, d, i) => (axes.has(i) ? n * d : n), 1);
  const dy = g.op('Reshape', [dOut[0]!, g.ints(kept)], {}, { scope });
  const scaled = g.op('Mul', [dy, g.constant(1 / count, g.dtype(x))], {}, { scope });
  return [g.op('Expand', [scaled, g.ints(shape)], {}, { scope })];
});
