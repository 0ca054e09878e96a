// y = GatherElements(x, idx, axis): dx = ScatterElements(zeros(x), idx, dy, axis, reduction=add)
// (repeated indices accumulate). Indices get no gradient. Written by the engine helper: the
// cross-entropy loss picks log-probabilities with it instead of a N×C OneHot product.
import { registerVjp } from '../registry.js';

registerVjp('GatherElements', ({ g, node, dOut, needs, scope }) => {
  const [x, idx] = node.inputs;
  if (!needs[0]) return [undefined, undefined];
  const info = g.info(x);
  const zeros = g.op('Expand', [g.constant(0, info.dtype), g.ints(info.shape)], {}, { scope });
  const axis = typeof node.attrs.axis === 'number' ? node.attrs.axis : 0;
  return [g.op('ScatterElements', [zeros, idx, dOut[0]!], { axis, reduction: 'add' }, { scope }), undefined];
});
