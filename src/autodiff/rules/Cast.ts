// y = cast(x): dx = cast(dy) back to x's float dtype; a non-float x gets no gradient.
import { isFloat, ONNX_DTYPE } from '../../onnx/dtypes.js';
import { registerVjp } from '../registry.js';

registerVjp('Cast', ({ g, node, dOut, scope }) => {
  const dt = g.dtype(node.inputs[0]), dy = dOut[0]!;
  if (!isFloat(dt) || !isFloat(g.dtype(dy))) return [undefined];
  return [dt === g.dtype(dy) ? dy : g.op('Cast', [dy], { to: ONNX_DTYPE[dt] }, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
