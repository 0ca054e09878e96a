// y = cast(x): dx = cast(dy) back to x's float dtype; a non-float x gets no gradient.
import { isFloat, ONNX_DTYPE } from '../../onnx/dtypes.js';
import type { GradConfig } from '../types.js';

export const castGrad: GradConfig = {
  op: 'Cast',
  vjp: ({ g, node, dOut, scope }) => {
    const dt = g.dtype(node.inputs[0]), dy = dOut[0]!;
    if (!isFloat(dt) || !isFloat(g.dtype(dy))) return [undefined];
    return [dt === g.dtype(dy) ? dy : g.op('Cast', [dy], { to: ONNX_DTYPE[dt] }, { scope })];
  },
};
