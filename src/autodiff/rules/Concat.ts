// y = concat(x₁…xₙ, axis): dxᵢ = the matching piece of split(dy, sizes, axis).
import { normAxis } from '../../onnx/infer.js';
import { registerVjp } from '../registry.js';

registerVjp('Concat', ({ g, node, dOut, needs, scope }) => {
  const dy = dOut[0]!;
  if (node.inputs.length === 1) return [dy];
  const rank = g.shape(dy).length;
  const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : 0, rank);
  const sizes = node.inputs.map((x) => g.shape(x)[axis]);
  const parts = g.node('Split', [dy, g.ints(sizes)], { axis }, { scope });
  return parts.map((p, i) => (needs[i] ? p : undefined));
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
