import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { runGraph } from '../../onnx/session.js';
import { gradcheck } from '../gradcheck.js';
import { batchNormTraining } from './batchnorm.js';

describe('batchNormTraining', () => {
  it('gradients for x, gamma, beta match finite differences (4-D and 2-D inputs)', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [3, 2, 3, 2] }, { name: 'gamma', shape: [2] }, { name: 'beta', shape: [2] },
        { name: 'rm', shape: [2], differentiable: false }, { name: 'rv', shape: [2], range: [0.5, 1.5], differentiable: false }],
      build: (g, v) => batchNormTraining(g, v.x, v.gamma, v.beta, v.rm, v.rv, { scope: 'bn' }).y,
    });
    await gradcheck({
      inputs: [{ name: 'x', shape: [5, 3] }, { name: 'rm', shape: [3], differentiable: false }, { name: 'rv', shape: [3], differentiable: false }],
      build: (g, v) => batchNormTraining(g, v.x, undefined, undefined, v.rm, v.rv).y,
    });
  });

  it('output and running statistics follow PyTorch formulas', async () => {
    const x = Float64Array.from([1, 2, 4, 7, -1, 0, 3, 3]); // [N=2, C=2, 2] → channel 0: 1,2,-1,0; channel 1: 4,7,3,3
    const g = new Graph();
    const X = g.input('x', 'float64', [2, 2, 2]);
    const p = (name: string) => g.input(name, 'float64', [2]);
    const r = batchNormTraining(g, X, p('gamma'), p('beta'), p('rm'), p('rv'), { momentum: 0.2, eps: 1e-3 });
    g.output(r.y, 'y');
    g.output(r.newRunningMean, 'rm_new');
    g.output(r.newRunningVar, 'rv_new');
    const t = (v: number[]) => ({ dtype: 'float64' as const, shape: [2], data: Float64Array.from(v) });
    const out = await runGraph(g, { x: { dtype: 'float64', shape: [2, 2, 2], data: x }, gamma: t([2, 0.5]), beta: t([0.1, -1]), rm: t([1, 2]), rv: t([3, 4]) });
    const ch = [[1, 2, -1, 0], [4, 7, 3, 3]];
    ch.forEach((vals, c) => {
      const m = vals.reduce((a, b) => a + b) / 4;
      const vb = vals.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      expect(out.rm_new.data[c]).toBeCloseTo(0.8 * [1, 2][c] + 0.2 * m, 12);
      expect(out.rv_new.data[c]).toBeCloseTo(0.8 * [3, 4][c] + 0.2 * vb * (4 / 3), 12);
      const first = c === 0 ? 1 : 4; // x[0, c, 0]
      expect(out.y.data[c * 2]).toBeCloseTo(((first - m) / Math.sqrt(vb + 1e-3)) * [2, 0.5][c] + [0.1, -1][c], 12);
    });
  });

  it('names the layer and both shapes on a channel mismatch', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [4, 3, 5, 5]);
    const s = g.input('s', 'float32', [4]);
    expect(() => batchNormTraining(g, x, s, s, s, s, { scope: 'backbone.bn1' })).toThrow(/backbone\.bn1: gamma has shape \[4\] but input \[4,3,5,5\] has 3 channels/);
  });
});
