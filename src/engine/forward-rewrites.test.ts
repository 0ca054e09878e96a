import { describe, expect, it } from 'vitest';
import { gradients } from '../autodiff/backward.js';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import type { Tensor } from '../tensor.js';
import { poolBeforeRelu } from './forward-rewrites.js';
import { DataType } from '../onnx/dtypes.js';

const bits = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** conv → relu → maxpool (2×2, and 3×3 stride 2 with padding: overlapping windows) → loss, with gradients. */
function build(swap: boolean) {
  const g = new Graph('t');
  const x = g.input('x', 'float32', [2, 2, 8, 8]), w = g.input('w', 'float32', [3, 2, 3, 3]);
  const c = g.op('Conv', [x, w], { pads: [1, 1, 1, 1] });
  const p1 = g.node('MaxPool', [g.op('Relu', [c])], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2 })[0];
  const p2 = g.node('MaxPool', [g.op('Relu', [p1])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, { outputs: 2 })[0];
  const loss = g.op('ReduceSum', [g.op('Mul', [p2, p2])], { keepdims: 0 });
  const swapped = swap ? poolBeforeRelu(g) : 0;
  const gr = gradients(g, loss, [x, w]);
  g.output(p2, 'y');
  g.output(gr.get(x)!, 'dx');
  g.output(gr.get(w)!, 'dw');
  return { g, swapped };
}

describe('poolBeforeRelu', () => {
  it('MaxPool(Relu(x)) → Relu(MaxPool(x)): same output and gradients, bit for bit, with ties and all-negative windows', async () => {
    // Values on a coarse grid, many zeros and negatives, so windows tie and many pools see only ≤ 0.
    const xd = Float32Array.from({ length: 2 * 2 * 8 * 8 }, (_, i) => ((i * 7) % 5) - 3);
    const wd = Float32Array.from({ length: 3 * 2 * 3 * 3 }, (_, i) => ((i * 5) % 3) - 1);
    const feeds: Record<string, Tensor> = { x: { dtype: 'float32', shape: [2, 2, 8, 8], data: xd }, w: { dtype: 'float32', shape: [3, 2, 3, 3], data: wd } };
    const a = build(false), b = build(true);
    expect(b.swapped).toBe(2);
    expect(b.g.nodes.map((n) => n.op).slice(0, 5)).toEqual(['Conv', 'MaxPool', 'Relu', 'MaxPool', 'Relu']);
    const ra = await runGraph(a.g, feeds), rb = await runGraph(b.g, feeds);
    const dx = ra.dx.data as Float32Array;
    expect(dx.some((v) => v !== 0) && dx.some((v) => v === 0)).toBe(true);
    for (const k of ['y', 'dx', 'dw']) expect(bits(rb[k]).equals(bits(ra[k])), k).toBe(true);
  });

  it('leaves a Relu alone when something else reads it, it is a graph output, or the pool Indices are used', () => {
    const g = new Graph('t');
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    const r1 = g.op('Relu', [x]);
    g.op('MaxPool', [r1], { kernel_shape: [2, 2] });
    g.op('Neg', [r1]);
    const r2 = g.op('Relu', [x]);
    g.op('MaxPool', [r2], { kernel_shape: [2, 2] });
    g.output(r2, 'r2');
    const [, idx] = g.node('MaxPool', [g.op('Relu', [x])], { kernel_shape: [2, 2] }, { outputs: 2 });
    g.op('Cast', [idx], { to: DataType.FLOAT });
    expect(poolBeforeRelu(g)).toBe(0);
  });
});
