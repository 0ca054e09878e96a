// Central unbroadcast (as in tinygrad): sums a gradient of the broadcast shape back to the shape
// of the input it belongs to. Rules never do this themselves.
import type { Graph, Shape } from '../onnx/graph.js';

export function unbroadcast(g: Graph, grad: string, target: Shape, scope: string): string {
  const from = g.shape(grad);
  if (from.length === target.length && from.every((d, i) => d === target[i])) return grad;
  const lead = from.length - target.length;
  if (lead < 0) throw new Error(`${scope}: gradient [${from}] has lower rank than its input [${target}]`);
  const axes: number[] = [];
  from.forEach((d, i) => {
    const t = i < lead ? undefined : target[i - lead];
    if (t === undefined || (t === 1 && d !== 1)) axes.push(i);
    else if (t !== d) throw new Error(`${scope}: gradient [${from}] does not broadcast to input [${target}]`);
  });
  let out = grad;
  if (axes.length) out = g.op('ReduceSum', [grad, g.ints(axes)], { keepdims: 1 }, { scope: `${scope}_unbroadcast` });
  if (g.shape(out).length !== target.length || lead > 0) out = g.op('Reshape', [out, g.ints(target)], {}, { scope: `${scope}_unbroadcast` });
  return out;
}
