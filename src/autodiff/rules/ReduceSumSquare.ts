// y = Σ_axes x²: dx = 2x·broadcast(dy).
import { registerVjp } from '../registry.js';
import { reduceAxes } from './attrs.js';

registerVjp('ReduceSumSquare', ({ g, node, dOut, scope }) => {
  const x = node.inputs[0], shape = g.shape(x);
  const axes = reduceAxes(node.attrs, shape.length);
  const dy = g.op('Reshape', [dOut[0]!, g.ints(shape.map((d, i) => (axes.includes(i) ? 1 : d)))], {}, { scope });
  return [g.op('Mul', [g.op('Mul', [x, g.constant(2, g.dtype(x))], {}, { scope }), dy], {}, { scope })];
});

// Keeps tslab (TypeScript 5.0) from crashing on a module that ends in a bare call.
export {};
