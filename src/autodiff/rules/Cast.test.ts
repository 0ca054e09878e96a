import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { gradients } from '../backward.js';
import { gradcheck } from '../gradcheck.js';
import { DataType } from '../../onnx/dtypes.js';

describe('Cast VJP', () => {
  it('float64 → float32 → float64 round trip passes the gradient back in float64', async () => {
    await gradcheck({
      inputs: [{ name: 'a', shape: [3, 2] }],
      build: (g, x) => g.op('Cast', [g.op('Mul', [g.op('Cast', [x.a], { to: DataType.FLOAT }), g.constant(3, 'float32')])], { to: DataType.DOUBLE }),
      eps: 1e-3, atol: 1e-4, rtol: 1e-4,
    });
  });
  it('float32 → float32 (the form WebGPU, which has no float64, checks too)', async () => {
    await gradcheck({ dtype: 'float32', inputs: [{ name: 'a', shape: [3, 2] }], build: (g, x) => g.op('Cast', [g.op('Mul', [x.a, g.constant(3, 'float32')])], { to: DataType.FLOAT }) });
  });
  it('a path through an integer cast carries no gradient', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [3]);
    const viaInt = g.op('Cast', [g.op('Cast', [a], { to: DataType.INT64 })], { to: DataType.FLOAT });
    const y = g.op('ReduceSum', [g.op('Add', [viaInt, a])], { keepdims: 0 });
    const before = g.nodes.length;
    gradients(g, y, [a]);
    expect(g.nodes.slice(before).some((n) => n.op === 'Cast')).toBe(false);
  });
});
