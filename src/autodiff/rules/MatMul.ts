// Y = A·B (batched, broadcasting batch dims): dA = dY·Bᵀ, dB = Aᵀ·dY over the last two axes.
// 1-D operands are lifted to matrices and the results reshaped back.
import type { Graph } from '../../onnx/graph.js';
import type { GradConfig } from '../types.js';

function swapLast(g: Graph, x: string, scope: string): string {
  const r = g.shape(x).length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return g.op('Transpose', [x], { perm }, { scope });
}

export const matMulGrad: GradConfig = {
  op: 'MatMul',
  vjp: ({ g, node, dOut, needs, scope }) => {
    let [a, b] = node.inputs;
    const sa = g.shape(a), sb = g.shape(b);
    if (sa.length === 1) a = g.op('Reshape', [a, g.ints([1, sa[0]])], {}, { scope });
    if (sb.length === 1) b = g.op('Reshape', [b, g.ints([sb[0], 1])], {}, { scope });
    const outShape = [...g.shape(dOut[0]!)];
    if (sa.length === 1) outShape.splice(outShape.length - (sb.length === 1 ? 0 : 1), 0, 1);
    if (sb.length === 1) outShape.push(1);
    const dy = g.op('Reshape', [dOut[0]!, g.ints(outShape)], {}, { scope });
    const res: (string | undefined)[] = [undefined, undefined];
    if (needs[0]) {
      const da = g.op('MatMul', [dy, swapLast(g, b, scope)], {}, { scope });
      // Broadcast batch dims of a matrix operand are summed away by the walker's unbroadcast.
      res[0] = sa.length === 1 ? g.op('Reshape', [g.op('ReduceSum', [da, g.ints([...Array(g.shape(da).length - 1).keys()])], { keepdims: 0 }, { scope }), g.ints(sa)], {}, { scope }) : da;
    }
    if (needs[1]) {
      const db = g.op('MatMul', [swapLast(g, a, scope), dy], {}, { scope });
      if (sb.length === 1) {
        const lead = g.shape(db).length - 2;
        const summed = lead > 0 ? g.op('ReduceSum', [db, g.ints([...Array(lead).keys()])], { keepdims: 0 }, { scope }) : db;
        res[1] = g.op('Reshape', [summed, g.ints(sb)], {}, { scope });
      } else res[1] = db;
    }
    return res;
  },
};
