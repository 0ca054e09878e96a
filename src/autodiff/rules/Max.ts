// y = max(x₁…xₙ) (broadcasting): dxᵢ = dy·[xᵢ = y]/#ties, so ties share the gradient equally.
import { ONNX_DTYPE } from '../../onnx/dtypes.js';
import type { GradConfig, VjpContext } from '../types.js';

/** Shared by Max and Min: routes dy to the inputs equal to the output. */
export function selectVjp({ g, node, dOut, needs, scope }: VjpContext): (string | undefined)[] {
  const y = node.outputs[0], to = ONNX_DTYPE[g.dtype(y)];
  const masks = node.inputs.map((x) => g.op('Cast', [g.op('Equal', [x, y], {}, { scope })], { to }, { scope }));
  const share = masks.length === 1 ? dOut[0]! : g.op('Div', [dOut[0]!, g.op('Sum', masks, {}, { scope })], {}, { scope });
  return masks.map((m, i) => (needs[i] ? g.op('Mul', [share, m], {}, { scope }) : undefined));
}

export const maxGrad: GradConfig = { op: 'Max', vjp: selectVjp };
