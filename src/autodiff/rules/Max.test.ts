import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { runGraph } from '../../onnx/session.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';

describe('Max VJP', () => {
  it('two inputs with broadcasting', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }], build: (g, x) => g.op('Max', [x.a, x.b]) });
  });
  it('ties share the gradient equally', async () => {
    const g = new Graph();
    const a = g.input('a', 'float64', [3]), b = g.input('b', 'float64', [3]);
    const loss = g.op('ReduceSum', [g.op('Max', [a, b])], { keepdims: 0 });
    const d = gradients(g, loss, [a, b]);
    g.output(d.get(a)!, 'da');
    g.output(d.get(b)!, 'db');
    const out = await runGraph(g, {
      a: { dtype: 'float64', shape: [3], data: Float64Array.from([1, 2, 5]) },
      b: { dtype: 'float64', shape: [3], data: Float64Array.from([0, 2, 7]) },
    });
    expect(Array.from(out.da.data as Float64Array)).toEqual([1, 0.5, 0]);
    expect(Array.from(out.db.data as Float64Array)).toEqual([0, 0.5, 1]);
  });
});
