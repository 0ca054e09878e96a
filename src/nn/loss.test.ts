// Loss values vs the torch.nn.functional formulas computed by hand (float64), and gradchecks.
import { describe, expect, it } from 'vitest';
import { gradcheck } from '../autodiff/gradcheck.js';
import { Graph } from '../onnx/graph.js';
import { runGraph } from '../onnx/session.js';
import { Rng } from '../random.js';
import type { Tensor } from '../tensor.js';
import { bceWithLogits, combineLosses, crossEntropy, huber, mse, smoothL1 } from './loss.js';
import type { Loss } from './loss.js';

const rng = new Rng(21);
const f64 = (n: number, lo = -2, hi = 2) => Float64Array.from({ length: n }, () => rng.uniform(lo, hi));

async function value(loss: Loss, pred: Tensor, batch: Record<string, Tensor>): Promise<Record<string, number>> {
  const g = new Graph('loss');
  const p = g.input('pred', pred.dtype, pred.shape);
  const b: Record<string, string> = {};
  for (const [k, t] of Object.entries(batch)) b[k] = g.input(k, t.dtype, t.shape);
  const r = loss.build({ g, outputs: p, batch: b });
  g.output(r.loss, 'loss');
  for (const [k, v] of Object.entries(r.metrics)) g.output(v, k);
  const out = await runGraph(g, { pred, ...batch });
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Number(t.data[0])]));
}

function ceRef(logits: Float64Array, y: number[], C: number, eps: number, ignore?: number): number {
  let total = 0, count = 0;
  y.forEach((t, i) => {
    if (t === ignore) return;
    const row = Array.from(logits.subarray(i * C, (i + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const logp = row.map((v) => v - lse);
    total += (1 - eps) * -logp[t] + eps * -logp.reduce((s, v) => s + v, 0) / C;
    count++;
  });
  return total / Math.max(count, 1);
}

describe('losses match the PyTorch formulas', () => {
  const N = 6, C = 5;
  const logits = f64(N * C, -3, 3);
  const labels = [0, 4, 2, 2, 1, 3];
  const y: Tensor = { dtype: 'int64', shape: [N], data: BigInt64Array.from(labels.map(BigInt)) };
  const pred: Tensor = { dtype: 'float64', shape: [N, C], data: logits };

  it('cross-entropy: plain, label smoothing, ignore_index; accuracy', async () => {
    const a = await value(crossEntropy(), pred, { y });
    expect(a.loss).toBeCloseTo(ceRef(logits, labels, C, 0), 10);
    const argmax = labels.map((_, i) => { const r = Array.from(logits.subarray(i * C, (i + 1) * C)); return r.indexOf(Math.max(...r)); });
    expect(a.accuracy).toBeCloseTo(argmax.filter((p, i) => p === labels[i]).length / N, 10);
    expect((await value(crossEntropy({ labelSmoothing: 0.1 }), pred, { y })).loss).toBeCloseTo(ceRef(logits, labels, C, 0.1), 10);
    const ig = await value(crossEntropy({ labelSmoothing: 0.2, ignoreIndex: 2 }), pred, { y });
    expect(ig.loss).toBeCloseTo(ceRef(logits, labels, C, 0.2, 2), 10);
    const pred32: Tensor = { dtype: 'float32', shape: [N, C], data: Float32Array.from(logits) }; // ORT's OneHot has no float64 kernel
    const [gathered, onehot] = [await value(crossEntropy(), pred32, { y }), await value(crossEntropy({ pick: 'onehot' }), pred32, { y })];
    expect(onehot.loss).toBeCloseTo(gathered.loss, 6);
    expect(gathered.loss).toBeCloseTo(a.loss, 5);
  });

  it('MSE, Huber, smooth L1, BCE-with-logits', async () => {
    const p = f64(12), t = f64(12);
    const P: Tensor = { dtype: 'float64', shape: [3, 4], data: p }, T: Tensor = { dtype: 'float64', shape: [3, 4], data: t };
    const mean = (f: (d: number, i: number) => number) => Array.from(p).reduce((s, v, i) => s + f(v - t[i], i), 0) / 12;
    expect((await value(mse(), P, { y: T })).loss).toBeCloseTo(mean((d) => d * d), 10);
    const hub = (d: number, k: number) => (Math.abs(d) < k ? 0.5 * d * d : k * (Math.abs(d) - 0.5 * k));
    expect((await value(huber({ delta: 0.7 }), P, { y: T })).loss).toBeCloseTo(mean((d) => hub(d, 0.7)), 10);
    expect((await value(smoothL1({ beta: 0.5 }), P, { y: T })).loss).toBeCloseTo(mean((d) => (Math.abs(d) < 0.5 ? 0.5 * d * d / 0.5 : Math.abs(d) - 0.25)), 10);
    const tb = Float64Array.from(t, (v) => (v > 0 ? 1 : 0));
    const bce = Array.from(p).reduce((s, x, i) => s - (tb[i] * Math.log(1 / (1 + Math.exp(-x))) + (1 - tb[i]) * Math.log(1 - 1 / (1 + Math.exp(-x)))), 0) / 12;
    expect((await value(bceWithLogits(), P, { y: { ...T, data: tb } })).loss).toBeCloseTo(bce, 10);
    const w = Float64Array.from({ length: 3 }, (_, i) => (i === 1 ? 0 : 1));
    const masked = Array.from(p).reduce((s, v, i) => s + (Math.floor(i / 4) === 1 ? 0 : (v - t[i]) ** 2), 0) / 8;
    expect((await value(mse({ weight: 'w' }), P, { y: T, w: { dtype: 'float64', shape: [3, 1], data: w } })).loss).toBeCloseTo(masked, 10);
  });

  it('combineLosses weights parts and names metrics', async () => {
    const both = combineLosses({ cls: { loss: crossEntropy({ target: 'y', output: 'cls' }) }, reg: { loss: mse({ target: 't', output: 'reg' }), weight: 3 } });
    const g = new Graph('c');
    const p = g.input('p', 'float64', [N, C]);
    const r = both.build({ g, outputs: { cls: p, reg: p }, batch: { y: g.input('y', 'int64', [N]), t: g.input('t', 'float64', [N, C]) } });
    expect(Object.keys(r.metrics).sort()).toEqual(['cls_accuracy', 'cls_loss', 'reg_loss']);
    expect(() => both.build({ g, outputs: p, batch: {} })).toThrow(/crossEntropy: output "cls" requested but the model returns a single tensor/);
  });

  it('bad targets are named', async () => {
    await expect(value(crossEntropy(), pred, { y: { dtype: 'int64', shape: [N + 1], data: new BigInt64Array(N + 1) } })).rejects.toThrow(/target "y" must be \[6\] class indices, got \[7\]/);
    await expect(value(mse(), pred, { y: { dtype: 'float64', shape: [N], data: new Float64Array(N) } })).rejects.toThrow(/mse: prediction \[6,5\] and target "y" \[6\] differ in shape/);
  });
});

describe('loss gradients (gradcheck, float64)', () => {
  const build = (loss: Loss, extra: Record<string, string> = {}) => (g: Graph, x: Record<string, string>) => loss.build({ g, outputs: x.p, batch: { ...x, ...extra } }).loss;
  it('cross-entropy with smoothing and ignore_index', async () => {
    await gradcheck({ inputs: [{ name: 'p', shape: [4, 3] }, { name: 'y', shape: [4], dtype: 'int64', data: BigInt64Array.from([0n, 2n, 1n, 2n]) }], build: build(crossEntropy({ labelSmoothing: 0.1, ignoreIndex: 1 })) });
  });
  it('smooth L1, Huber and BCE-with-logits', async () => {
    for (const l of [smoothL1({ beta: 0.3 }), huber({ delta: 0.4 }), bceWithLogits()]) {
      await gradcheck({ inputs: [{ name: 'p', shape: [3, 4] }, { name: 'y', shape: [3, 4], data: Float64Array.from({ length: 12 }, (_, i) => (i % 3) / 2) }], build: build(l) });
    }
  });
});
