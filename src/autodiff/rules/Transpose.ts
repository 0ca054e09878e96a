// y = transpose(x, perm): dx = transpose(dy, perm⁻¹).
import { registerVjp } from '../registry.js';

registerVjp('Transpose', ({ g, node, dOut, scope }) => {
  const rank = g.shape(node.inputs[0]).length;
  const perm = Array.isArray(node.attrs.perm) ? (node.attrs.perm as number[]) : [...Array(rank).keys()].reverse();
  const inv = perm.map((_, i) => perm.indexOf(i));
  return [g.op('Transpose', [dOut[0]!], { perm: inv }, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
