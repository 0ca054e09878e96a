import { describe, expect, it } from 'vitest';
import { Graph } from './graph.js';
import { DataType, ONNX_DTYPE } from './dtypes.js';
import { runGraph } from './session.js';

describe('Graph builder errors', () => {
  it('a shape mismatch names the scope, the op and both shapes', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [8, 256]);
    const b = g.input('b', 'float32', [10, 128]);
    expect(() => g.op('MatMul', [a, b], {}, { scope: 'head.fc' })).toThrow('head.fc: MatMul on inputs [8,256], [10,128]: MatMul inner dimensions differ: [8,256] x [10,128]');
    expect(() => g.op('Add', [a, g.input('c', 'float32', [3])], {}, { scope: 'backbone.conv1' })).toThrow(/^backbone\.conv1: Add on inputs \[8,256\], \[3\]: shapes \[8,256\] and \[3\] do not broadcast$/);
  });

  it('a conv channel mismatch names the layer, the input and weight shapes', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3, 8, 8]);
    const w = g.input('w', 'float32', [16, 1, 3, 3]);
    expect(() => g.op('Conv', [x, w], {}, { scope: 'backbone.conv1' })).toThrow(/backbone\.conv1: Conv on inputs \[2,3,8,8\], \[16,1,3,3\]: input has 3 channels but weight \[16,1,3,3\] with group 1 expects 1/);
  });

  it('unknown inputs and outputs are named', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2]);
    expect(() => g.op('Add', [a, 'nope'])).toThrow('Add: unknown input "nope"');
    expect(() => g.output('missing')).toThrow('output: unknown value "missing"');
    expect(() => g.shape('ghost')).toThrow('unknown graph value "ghost"');
  });

  it('duplicate names are rejected; generated names are unique', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2]);
    expect(() => g.input('a', 'float32', [2])).toThrow('graph value name "a" is already used');
    g.op('Relu', [a], {}, { names: ['r'] });
    expect(() => g.op('Relu', [a], {}, { names: ['r'] })).toThrow('graph value name "r" is already used');
    expect(() => g.initializer({ name: 'a', dtype: 'float32', shape: [1], data: new Float32Array(1) })).toThrow('already used');
    const outs = Array.from({ length: 5 }, () => g.op('Relu', [a], {}, { scope: 'act' }));
    expect(new Set(outs).size).toBe(5);
    expect(new Set(g.nodes.map((n) => n.name)).size).toBe(g.nodes.length);
  });

  it('ops without inference need explicit output info; initializer data must fit its shape', () => {
    const g = new Graph();
    const a = g.input('a', 'float32', [2]);
    expect(() => g.op('NoSuchOp', [a], {}, { scope: 'blk' })).toThrow(/blk: NoSuchOp on inputs \[2\]: no shape inference for op NoSuchOp; pass the output info explicitly/);
    expect(g.shape(g.op('NoSuchOp', [a], {}, { out: [{ dtype: 'float32', shape: [7] }] }))).toEqual([7]);
    expect(() => g.initializer({ name: 'w', dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow('initializer w: data length 3 does not match shape [2,2]');
  });

  it('small constants are shared, large ones are not; constValue reads them back', () => {
    const g = new Graph();
    expect(g.constant(1.5)).toBe(g.constant(1.5));
    expect(g.ints([1, 2])).toBe(g.ints([1, 2]));
    expect(g.constant(1.5, 'float64')).not.toBe(g.constant(1.5));
    const big = Array.from({ length: 20 }, (_, i) => i);
    expect(g.constant(big)).not.toBe(g.constant(big));
    expect(g.constValue(g.ints([3, -1]))).toEqual([3, -1]);
  });
});

describe('shape inference agrees with onnxruntime', () => {
  it('Slice clamps starts and ends per the spec, negative steps included', async () => {
    const cases: [number, number, number][] = [[-100, -1000, -1], [-1, -1000, -1], [100, 0, -2], [1, 100, 2], [-100, 3, 1], [2, -100, 1]];
    for (const [start, end, step] of cases) {
      const g = new Graph();
      const x = g.input('x', 'float32', [5]);
      const y = g.output(g.op('Slice', [x, g.ints([start]), g.ints([end]), g.ints([0]), g.ints([step])]), 'y');
      const out = await runGraph(g, { x: { dtype: 'float32', shape: [5], data: Float32Array.from([0, 1, 2, 3, 4]) } });
      expect(g.shape(y), `slice ${start}:${end}:${step}`).toEqual(out.y.shape);
    }
  });

  it('pooling with ceil_mode: sizes as onnxruntime computes them; a last window starting in the end padding is refused', async () => {
    for (const [n, k, s, p] of [[5, 2, 2, 0], [7, 3, 3, 1], [6, 3, 2, 1]]) {
      for (const op of ['MaxPool', 'AveragePool']) {
        const g = new Graph();
        const x = g.input('x', 'float32', [1, 1, n, n]);
        const y = g.output(g.node(op, [x], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], ceil_mode: 1 }, { outputs: 1 })[0], 'y');
        const out = await runGraph(g, { x: { dtype: 'float32', shape: [1, 1, n, n], data: new Float32Array(n * n).fill(1) } });
        expect(g.shape(y), `${op} n=${n} k=${k} s=${s} p=${p}`).toEqual(out.y.shape);
      }
    }
    // onnxruntime's kernel gives 3×3 and 2×2 here, its shape inference 4×4 and 3×3.
    for (const [n, k, s, p] of [[6, 1, 2, 0], [4, 2, 3, 1]]) {
      const g = new Graph();
      const x = g.input('x', 'float32', [1, 1, n, n]);
      expect(() => g.node('AveragePool', [x], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p], ceil_mode: 1 }, { scope: 'pool' }))
        .toThrow(/pool: AveragePool on inputs \[1,1,\d,\d\]: ceil_mode: the last window would start in the end padding/);
    }
  });
});

describe('Cast with named dtype codes', () => {
  it('DataType names are the codes onnxruntime casts to', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    const i = g.output(g.op('Cast', [x], { to: DataType.INT64 }), 'i');
    const b = g.output(g.op('Cast', [x], { to: ONNX_DTYPE.bool }), 'b');
    expect([g.dtype(i), g.dtype(b)]).toEqual(['int64', 'bool']);
    const out = await runGraph(g, { x: { dtype: 'float32', shape: [3], data: Float32Array.from([0, 2.7, -1]) } });
    expect([out.i.dtype, [...out.i.data], out.b.dtype]).toEqual(['int64', [0n, 2n, -1n], 'bool']);
  });
});
