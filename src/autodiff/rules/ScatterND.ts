// Y = ScatterND(data, idx, updates, reduction). 'none': dData = dY with the written slices
// zeroed, dUpdates = GatherND(dY, idx) (duplicate indices are undefined behaviour in ONNX, and so
// is their gradient). 'add': dData = dY. Reductions 'mul', 'max', 'min' have no rule.
import { zeros } from '../indices.js';
import type { GradConfig } from '../types.js';

export const scatterNDGrad: GradConfig = {
  op: 'ScatterND',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const reduction = node.attrs.reduction ?? 'none';
    if (reduction !== 'none' && reduction !== 'add') throw new Error(`${scope}: no gradient for ScatterND with reduction '${String(reduction)}' (only 'none' and 'add')`);
    const [, idx, updates] = node.inputs;
    const dy = dOut[0]!;
    const res: (string | undefined)[] = [undefined, undefined, undefined];
    if (needs[0]) res[0] = reduction === 'add' ? dy : g.op('ScatterND', [dy, idx, zeros(g, g.dtype(updates), g.shape(updates), scope)], {}, { scope });
    if (needs[2]) res[2] = g.op('GatherND', [dy, idx], {}, { scope });
    return res;
  },
};
