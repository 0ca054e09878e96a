import { describe, expect, it } from 'vitest';
import { Graph } from '../../onnx/graph.js';
import { runGraph } from '../../onnx/session.js';
import type { Tensor } from '../../tensor.js';
import { gradcheck } from '../gradcheck.js';
import { dropout, dropoutHashReference, dropoutKeyReference, dropoutState, dropThreshold } from './dropout.js';

async function masks(shape: number[], ratio: number, state: BigInt64Array, stream?: number) {
  const g = new Graph();
  const x = g.input('x', 'float32', shape);
  const s = g.input('rng', 'int64', [2]);
  const r = dropout(g, x, ratio, s, { scope: 'drop', stream });
  g.output(r.y, 'y');
  g.output(r.mask, 'mask');
  g.output(r.newRngState, 'rng_new');
  const n = shape.reduce((a, b) => a * b, 1);
  const feeds: Record<string, Tensor> = {
    x: { dtype: 'float32', shape, data: Float32Array.from({ length: n }, (_, i) => 1 + (i % 7)) },
    rng: { dtype: 'int64', shape: [2], data: state },
  };
  const out = await runGraph(g, feeds);
  return { y: out.y.data as Float32Array, mask: out.mask.data as Float32Array, next: out.rng_new.data as BigInt64Array, x: feeds.x.data as Float32Array };
}

describe('dropout composite', () => {
  it('same state → same mask; the state advances and the next mask differs', async () => {
    const a = await masks([64, 50], 0.3, dropoutState(42, 5));
    const b = await masks([64, 50], 0.3, dropoutState(42, 5));
    expect(Array.from(a.mask)).toEqual(Array.from(b.mask));
    expect(Array.from(a.next)).toEqual([42n, 6n]);
    const c = await masks([64, 50], 0.3, a.next);
    const d = await masks([64, 50], 0.3, dropoutState(43, 5));
    const e = await masks([64, 50], 0.3, dropoutState(42, 5), 1);
    for (const other of [c, d, e]) {
      const same = a.mask.reduce((s, v, i) => s + (v === other.mask[i] ? 1 : 0), 0);
      expect(same / a.mask.length).toBeGreaterThan(0.5); // independent masks agree ≈ 0.7² + 0.3² = 58%
      expect(same / a.mask.length).toBeLessThan(0.66);
    }
  });

  it('drops about ratio of the elements, scales kept ones, no neighbour correlation', async () => {
    const { y, mask, x } = await masks([200, 100], 0.25, dropoutState(7));
    const kept = mask.reduce((s, v) => s + v, 0) / mask.length;
    expect(Math.abs(kept - 0.75)).toBeLessThan(0.015); // 20000 draws: σ ≈ 0.003
    mask.forEach((m, i) => expect(y[i]).toBeCloseTo(m ? x[i] / 0.75 : 0, 5));
    let both = 0;
    for (let i = 1; i < mask.length; i++) both += mask[i] * mask[i - 1];
    expect(Math.abs(both / (mask.length - 1) - 0.75 * 0.75)).toBeLessThan(0.02);
  });

  it('masks equal the JavaScript reference of the hash bit for bit (int32 wrap-around is as defined)', async () => {
    const shape = [3, 1000];
    for (const [seed, counter, stream] of [[42, 5, 0], [2 ** 31 - 1, 123456, 3], [0, 0, 0], [3, 9, 0], [1999999999, 2000000000, 1]]) { // sums that overflow int32 too
      const { mask } = await masks(shape, 0.3, dropoutState(seed, counter), stream);
      const key = dropoutKeyReference(seed, counter, stream);
      const want = Array.from({ length: 3000 }, (_, i) => (dropoutHashReference(i, key) < dropThreshold(0.3) ? 0 : 1));
      expect(Array.from(mask)).toEqual(want);
    }
  });

  it('gradient flows through the mask (finite differences)', async () => {
    await gradcheck({
      inputs: [{ name: 'x', shape: [4, 6] }, { name: 'rng', shape: [2], dtype: 'int64', data: dropoutState(3, 9) }],
      build: (g, v) => dropout(g, v.x, 0.5, v.rng).y,
    });
  });

  it('rejects a bad ratio or state', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const s = g.input('s', 'int64', [2]);
    const bad = g.input('bad', 'int32', [2]);
    expect(() => dropout(g, x, 1, s, { scope: 'head.drop' })).toThrow(/head\.drop: dropout ratio must be in \[0, 1\), got 1/);
    expect(() => dropout(g, x, 0.1, bad)).toThrow(/RNG state must be int64 \[2\]/);
  });
});
