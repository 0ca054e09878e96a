// Y = x̂·Scale + B, x̂ = (X − mean)·invstd over axes [axis, rank). Reuses the forward's Mean and
// InvStdDev outputs (a forward node without them gets a second LayerNormalization that has them).
// dX = invstd·(d − mean(d) − x̂·mean(d·x̂)) with d = dY·Scale; dScale = dY·x̂; dB = dY
// (the walker sums the leading axes away).
import { ONNX_DTYPE } from '../../onnx/dtypes.js';
import { normAxis } from '../../onnx/infer.js';
import { range } from '../spatial.js';
import type { GradConfig } from '../types.js';

export const layerNormalizationGrad: GradConfig = {
  op: 'LayerNormalization',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const [x, scale] = node.inputs;
    const dy = dOut[0]!;
    const xs = g.shape(x), dt = g.dtype(x);
    const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : -1, xs.length);
    const op = (type: string, inputs: string[], attrs = {}) => g.op(type, inputs, attrs, { scope });
    const hasStats = node.outputs.length === 3 && g.has(node.outputs[1]) && g.has(node.outputs[2]);
    const [, mean0, inv0] = hasStats ? node.outputs : g.node('LayerNormalization', node.inputs, node.attrs, { scope, outputs: 3 });
    // Mean / InvStdDev are float32 (stash type) whatever X's type is.
    const cast = (v: string) => (g.dtype(v) === dt ? v : op('Cast', [v], { to: ONNX_DTYPE[dt] }));
    const mean = cast(mean0), invStd = cast(inv0);
    const xhat = op('Mul', [op('Sub', [x, mean]), invStd]);
    const res: (string | undefined)[] = [undefined, undefined, undefined];
    if (needs[0]) {
      const axes = range(xs.length, axis);
      const d = op('Mul', [dy, scale]);
      const meanD = op('ReduceMean', [d], { axes, keepdims: 1 });
      const meanDX = op('ReduceMean', [op('Mul', [d, xhat])], { axes, keepdims: 1 });
      res[0] = op('Mul', [invStd, op('Sub', [op('Sub', [d, meanD]), op('Mul', [xhat, meanDX])])]);
    }
    if (needs[1]) res[1] = op('Mul', [dy, xhat]);
    if (needs[2]) res[2] = dy;
    return res;
  },
};
