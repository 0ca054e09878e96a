// y = max over axes (attribute in opset 17): dx = dy·[x = y]/#ties, broadcast along the axes.
import { ONNX_DTYPE } from '../../onnx/dtypes.js';
import { normAxis } from '../../onnx/infer.js';
import { registerVjp } from '../registry.js';

registerVjp('ReduceMax', ({ g, node, dOut, scope }) => {
  const x = node.inputs[0], shape = g.shape(x);
  const given = Array.isArray(node.attrs.axes) ? (node.attrs.axes as number[]) : [];
  const axes = given.length ? given.map((a) => normAxis(a, shape.length)) : shape.map((_, i) => i);
  const kept = g.ints(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  const y = g.op('Reshape', [node.outputs[0], kept], {}, { scope });
  const mask = g.op('Cast', [g.op('Equal', [x, y], {}, { scope })], { to: ONNX_DTYPE[g.dtype(x)] }, { scope });
  const ties = g.op('ReduceSum', [mask, g.ints(axes)], { keepdims: 1 }, { scope });
  const share = g.op('Div', [g.op('Reshape', [dOut[0]!, kept], {}, { scope }), ties], {}, { scope });
  return [g.op('Mul', [mask, share], {}, { scope })];
});
