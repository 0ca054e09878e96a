// y = max over axes (attribute in opset 17): dx = dy·[x = y]/#ties, broadcast along the axes.
import { ONNX_DTYPE } from '../../onnx/dtypes.js';
import type { GradConfig, VjpContext } from '../types.js';
import { reduceAxes } from './attrs.js';

/** Shared by ReduceMax and ReduceMin: routes dy to the elements equal to the result. */
export function reduceSelectVjp({ g, node, dOut, scope }: VjpContext): (string | undefined)[] {
  const x = node.inputs[0], shape = g.shape(x);
  const axes = reduceAxes(node.attrs, shape.length);
  const kept = g.ints(shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  const y = g.op('Reshape', [node.outputs[0], kept], {}, { scope });
  const mask = g.op('Cast', [g.op('Equal', [x, y], {}, { scope })], { to: ONNX_DTYPE[g.dtype(x)] }, { scope });
  const ties = g.op('ReduceSum', [mask, g.ints(axes)], { keepdims: 1 }, { scope });
  const share = g.op('Div', [g.op('Reshape', [dOut[0]!, kept], {}, { scope }), ties], {}, { scope });
  return [g.op('Mul', [mask, share], {}, { scope })];
}

export const reduceMaxGrad: GradConfig = { op: 'ReduceMax', vjp: reduceSelectVjp };
