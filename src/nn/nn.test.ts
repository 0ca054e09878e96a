// Modules: hierarchical names, seeded initialisers, selection patterns, forward values vs hand
// computation, and shape errors naming the layer.
import { describe, expect, it } from 'vitest';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { kaimingUniform, xavierUniform } from './init.js';
import { AvgPool2d, Conv2d, Embedding, GELU, GlobalAvgPool, LeakyReLU, Linear, ReLU, Sequential } from './layers.js';
import type { ForwardContext, Module } from './module.js';
import { rngFor } from './module.js';
import { BatchNorm2d, LayerNorm } from './norm.js';
import { matchName, selectNames } from './select.js';

/** Runs `m` in eval mode on `x` with its seeded initial parameters; returns output and params. */
async function run(m: Module, x: Tensor) {
  const g = new Graph('m');
  const feeds: Record<string, Tensor> = { x };
  const params: Record<string, Float32Array> = {};
  for (const p of m.parameters()) {
    g.input(`param.${p.name}`, p.dtype, p.shape);
    params[p.name] = p.init(p.shape, rngFor(0, p.name)) as Float32Array;
    feeds[`param.${p.name}`] = { dtype: p.dtype, shape: p.shape, data: params[p.name] };
  }
  for (const b of m.buffers()) {
    g.input(`buffer.${b.name}`, b.dtype, b.shape);
    feeds[`buffer.${b.name}`] = { dtype: b.dtype, shape: b.shape, data: b.init(b.shape, rngFor(0, b.name)) };
  }
  const ctx: ForwardContext = {
    training: false, param: (n) => `param.${n}`, buffer: (n) => `buffer.${n}`,
    updateBuffer: () => { throw new Error('eval'); }, rng: () => { throw new Error('eval'); }, updateRng: () => {},
  };
  g.output(m.forward(g, g.input('x', x.dtype, x.shape), ctx), 'y');
  const out = await runGraph(g, feeds);
  return { y: out.y.data as Float32Array, shape: out.y.shape, params };
}

const rnd = (n: number, seed = 1) => { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.uniform(-2, 2)); };

describe('nn modules', () => {
  it('hierarchical names, counts and PyTorch layouts', () => {
    const m = new Sequential({ backbone: new Sequential({ conv1: new Conv2d(3, 8, 3), bn1: new BatchNorm2d(8) }), head: new Linear(8, 2) });
    expect(m.parameters().map((p) => `${p.name}[${p.shape}]`)).toEqual([
      'backbone.conv1.weight[8,3,3,3]', 'backbone.conv1.bias[8]', 'backbone.bn1.weight[8]', 'backbone.bn1.bias[8]', 'head.weight[2,8]', 'head.bias[2]']);
    expect(m.buffers().map((b) => b.name)).toEqual(['backbone.bn1.running_mean', 'backbone.bn1.running_var']);
    expect(m.parameterCount()).toBe(8 * 27 + 8 + 16 + 18);
    expect(new Sequential(new ReLU(), new Linear(2, 2)).parameters().map((p) => p.name)).toEqual(['1.weight', '1.bias']);
  });

  it('initialisers follow torch.nn.init bounds and are seeded by name', () => {
    const w = kaimingUniform()([64, 100], new Rng(1)) as Float32Array;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(100));
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 / Math.sqrt(100));
    const x = xavierUniform()([30, 20, 3, 3], new Rng(2)) as Float32Array;
    expect(Math.max(...x.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (180 + 270)));
    expect(Array.from(kaimingUniform()([4], rngFor(7, 'a.weight')) as Float32Array)).toEqual(Array.from(kaimingUniform()([4], rngFor(7, 'a.weight')) as Float32Array));
    expect(Array.from(kaimingUniform()([4], rngFor(7, 'a.weight')) as Float32Array)).not.toEqual(Array.from(kaimingUniform()([4], rngFor(7, 'b.weight')) as Float32Array));
  });

  it('selection by glob or prefix', () => {
    expect(matchName('backbone.*', 'backbone.conv1.weight')).toBe(true);
    expect(matchName('backbone', 'backbone.conv1.weight')).toBe(true);
    expect(matchName('backbone', 'backbone2.w')).toBe(false);
    expect(matchName('*.bias', 'head.bias')).toBe(true);
    expect(matchName('head.?', 'head.w')).toBe(true);
    expect(selectNames(['head', '*.bias'], ['a.bias', 'a.weight', 'head.weight'])).toEqual(['a.bias', 'head.weight']);
    expect(() => selectNames('neck.*', ['a.bias'])).toThrow(/"neck.\*" matches no parameter/);
  });

  it('Linear (2-D Gemm and 3-D MatMul), GELU, LeakyReLU, LayerNorm forward values', async () => {
    const x = rnd(6);
    const lin = new Linear(3, 2);
    const r2 = await run(lin, { dtype: 'float32', shape: [2, 3], data: x });
    const r3 = await run(new Linear(3, 2), { dtype: 'float32', shape: [1, 2, 3], data: x });
    const W = r2.params.weight, b = r2.params.bias;
    const want = [0, 1].flatMap((i) => [0, 1].map((o) => b[o] + [0, 1, 2].reduce((s, k) => s + x[i * 3 + k] * W[o * 3 + k], 0)));
    Array.from(r2.y).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(r3.shape).toEqual([1, 2, 2]);
    Array.from(r3.y).forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    const erf = (z: number) => { const t = 1 / (1 + 0.3275911 * Math.abs(z)); const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z); return z >= 0 ? y : -y; };
    const ge = await run(new GELU(), { dtype: 'float32', shape: [6], data: x });
    Array.from(ge.y).forEach((v, i) => expect(v).toBeCloseTo(0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2)), 5));
    const lr = await run(new LeakyReLU(0.2), { dtype: 'float32', shape: [6], data: x });
    Array.from(lr.y).forEach((v, i) => expect(v).toBeCloseTo(x[i] > 0 ? x[i] : 0.2 * x[i], 6));
    const ln = await run(new LayerNorm(3), { dtype: 'float32', shape: [2, 3], data: x });
    for (let i = 0; i < 2; i++) {
      const row = Array.from(x.subarray(i * 3, i * 3 + 3)), mu = row.reduce((s, v) => s + v, 0) / 3;
      const vr = row.reduce((s, v) => s + (v - mu) ** 2, 0) / 3;
      row.forEach((v, k) => expect(ln.y[i * 3 + k]).toBeCloseTo((v - mu) / Math.sqrt(vr + 1e-5), 4));
    }
  });

  it('pooling and embedding shapes', async () => {
    const img = { dtype: 'float32' as const, shape: [1, 2, 4, 4], data: rnd(32) };
    const ap = await run(new AvgPool2d(2), img);
    expect(ap.shape).toEqual([1, 2, 2, 2]);
    expect(ap.y[0]).toBeCloseTo((img.data[0] + img.data[1] + img.data[4] + img.data[5]) / 4, 6);
    expect((await run(new GlobalAvgPool(true), img)).shape).toEqual([1, 2]);
    const emb = await run(new Embedding(5, 3), { dtype: 'int64', shape: [2, 2], data: BigInt64Array.from([0n, 4n, 4n, 1n]) });
    expect(emb.shape).toEqual([2, 2, 3]);
    expect(Array.from(emb.y.subarray(3, 6))).toEqual(Array.from(emb.params.weight.subarray(12, 15)));
  });

  it('shape mismatches name the layer and both shapes', async () => {
    const img = { dtype: 'float32' as const, shape: [1, 2, 4, 4], data: rnd(32) };
    const m = new Sequential({ stem: new Conv2d(3, 4, 3) });
    await expect(run(m, img)).rejects.toThrow(/Conv2d "stem": input has shape \[1, 2, 4, 4\] but this layer expects \[\*, 3, \*, \*\]/);
    await expect(run(new Sequential({ bn: new BatchNorm2d(3) }), img)).rejects.toThrow(/BatchNorm2d "bn": input has shape \[1, 2, 4, 4\] but this layer expects \[\*, 3, \*, \*\]/);
    await expect(run(new Sequential({ ln: new LayerNorm([3]) }), img)).rejects.toThrow(/LayerNorm "ln": input \(trailing dims\) has shape \[4\] but this layer expects \[3\]/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(/not divisible by groups 2/);
    class TwoStats extends BatchNorm2d {
      constructor() { super(2); this.addBuffer('running_mean', [2], (s) => new Float32Array(s[0])); }
    }
    expect(() => new TwoStats()).toThrow(/TwoStats: "running_mean" is already registered/);
  });
});
