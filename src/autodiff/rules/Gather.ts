// Y = Gather(X, idx, axis): dX accumulates dY's slices at the gathered positions (repeated
// indices add up) with ScatterND(reduction 'add') into zeros; the gathered axis is moved to the
// front for the scatter and back afterwards. Indices get no gradient.
import { normAxis } from '../../onnx/infer.js';
import { positiveIndices, zeros } from '../indices.js';
import { range } from '../spatial.js';
import type { GradConfig } from '../types.js';

export const gatherGrad: GradConfig = {
  op: 'Gather',
  vjp: ({ g, node, dOut, needs, scope }) => {
    if (!needs[0]) return [undefined, undefined];
    const [x, idx] = node.inputs;
    const dy = dOut[0]!;
    const xs = g.shape(x), r = g.shape(idx).length;
    const a = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, xs.length);
    const op = (type: string, inputs: string[], attrs = {}) => g.op(type, inputs, attrs, { scope });
    const pos = op('Unsqueeze', [positiveIndices(g, idx, xs[a], scope), g.ints([-1])]);
    // dY is S[:a] + I + S[a+1:]; the scatter wants I + S[:a] + S[a+1:] into S[a] + S[:a] + S[a+1:].
    const rest = [...xs.slice(0, a), ...xs.slice(a + 1)];
    const upd = a === 0 ? dy : op('Transpose', [dy], { perm: [...range(a + r, a), ...range(a), ...range(g.shape(dy).length, a + r)] });
    const scattered = op('ScatterND', [zeros(g, g.dtype(x), [xs[a], ...rest], scope), pos, upd], { reduction: 'add' });
    const dx = a === 0 ? scattered : op('Transpose', [scattered], { perm: [...range(a + 1, 1), 0, ...range(xs.length, a + 1)] });
    return [dx, undefined];
  },
};
