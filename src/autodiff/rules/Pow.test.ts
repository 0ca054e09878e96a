import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';

describe('Pow VJP', () => {
  for (const p of [2, 3, 0.5, -1.5, 1]) {
    it(`constant exponent ${p}`, async () => {
      await gradcheck({ inputs: [{ name: 'a', shape: [3, 4], range: [0.3, 2] }], build: (g, x) => g.op('Pow', [x.a, g.constant(p, g.dtype(x.a))]) });
    });
  }
  it('int64 constant exponent and a broadcast exponent tensor that needs no gradient', async () => {
    await gradcheck({ inputs: [{ name: 'a', shape: [3, 2], range: [0.3, 2] }], build: (g, x) => g.op('Pow', [x.a, g.constant(3, 'int64')]) });
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 2], range: [0.3, 2] }, { name: 'p', shape: [2], data: new Float64Array([1.5, -2]) }],
      build: (g, x) => g.op('Pow', [x.a, x.p]),
    });
  });
  it('fails clearly when the exponent needs a gradient', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [3]), p = g.input('p', 'float32', [3]);
    const y = g.op('ReduceSum', [g.op('Pow', [a, p])], { keepdims: 0 });
    expect(() => gradients(g, y, [a, p])).toThrow(/Pow needs a gradient w.r.t. its exponent/);
  });
});
