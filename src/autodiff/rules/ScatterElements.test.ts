import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';

const i64 = (v: number[]) => BigInt64Array.from(v.map(BigInt));

describe('ScatterElements VJP', () => {
  for (const reduction of ['none', 'add']) {
    it(`reduction=${reduction} (data and updates)`, async () => {
      await gradcheck({
        inputs: [{ name: 'd', shape: [3, 4] }, { name: 'i', shape: [2, 4], dtype: 'int64', data: i64([0, 2, 1, -1, 2, 0, 0, 1]) }, { name: 'u', shape: [2, 4] }],
        build: (g, v) => g.op('ScatterElements', [v.d, v.i, v.u], { axis: 0, reduction }),
      });
    });
  }
  it('other reductions fail with a clear message', () => {
    const g = new Graph();
    const d = g.input('d', 'float32', [3]);
    const y = g.op('ScatterElements', [d, g.ints([1]), g.constant([2], 'float32', [1])], { reduction: 'mul' });
    expect(() => gradients(g, g.op('ReduceSum', [y], { keepdims: 0 }), [d])).toThrow(/no gradient for ScatterElements with reduction 'mul'/);
  });
});
