import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { runGraph } from '../../onnx/session.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';

describe('ReduceMax VJP', () => {
  it('axes with and without keepdims, all axes', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceMax', [x.a], { axes: [1], keepdims: 0 }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [2, 3, 4] }], build: (g, x) => g.op('ReduceMax', [x.a], { axes: [0, -1] }) });
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2] }], build: (g, x) => g.op('ReduceMax', [x.a], { keepdims: 0 }) });
  });
  it('ties share the gradient equally', async () => {
    const g = new Graph();
    const a = g.input('a', 'float64', [2, 3]);
    const loss = g.op('ReduceSum', [g.op('ReduceMax', [a], { axes: [1], keepdims: 0 })], { keepdims: 0 });
    g.output(gradients(g, loss, [a]).get(a)!, 'da');
    const out = await runGraph(g, { a: { dtype: 'float64', shape: [2, 3], data: Float64Array.from([1, 3, 3, 0, 4, 2]) } });
    expect(Array.from(out.da.data as Float64Array)).toEqual([0, 0.5, 0.5, 0, 1, 0]);
  });
});
