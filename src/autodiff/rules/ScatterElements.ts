// Y = ScatterElements(data, idx, updates, axis, reduction). 'none': written positions take
// updates, so dData is dY with them zeroed and dUpdates = GatherElements(dY, idx) (duplicate
// indices are undefined behaviour in ONNX, and so is their gradient). 'add': dData = dY.
// Reductions 'mul', 'max', 'min' have no rule.
import { normAxis } from '../../onnx/infer.js';
import { positiveIndices, zeros } from '../indices.js';
import type { GradConfig } from '../types.js';

export const scatterElementsGrad: GradConfig = {
  op: 'ScatterElements',
  vjp: ({ g, node, dOut, needs, scope }) => {
    const reduction = node.attrs.reduction ?? 'none';
    if (reduction !== 'none' && reduction !== 'add') throw new Error(`${scope}: no gradient for ScatterElements with reduction '${String(reduction)}' (only 'none' and 'add')`);
    const [data, idx, updates] = node.inputs;
    const dy = dOut[0]!;
    const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, g.shape(data).length);
    const pos = positiveIndices(g, idx, g.shape(data)[axis], scope);
    const res: (string | undefined)[] = [undefined, undefined, undefined];
    if (needs[0]) res[0] = reduction === 'add' ? dy : g.op('ScatterElements', [dy, pos, zeros(g, g.dtype(updates), g.shape(updates), scope)], { axis }, { scope });
    if (needs[2]) res[2] = g.op('GatherElements', [dy, pos], { axis }, { scope });
    return res;
  },
};
