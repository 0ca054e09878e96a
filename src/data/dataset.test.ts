import { describe, expect, it } from 'vitest';
import { TensorDataset, trainValSplit } from './dataset.js';
import { glyphDataset, drawGlyph, GLYPH_CLASSES } from './glyphs.js';

describe('TensorDataset', () => {
  it('stacks samples, applies transforms, validates', async () => {
    const ds = new TensorDataset({
      x: { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255, 51, 102, 10, 20]), transform: { dtype: 'float32', scale: 1 / 255 } },
      y: { dtype: 'int64', shape: [], data: new BigInt64Array([7n, 8n, 9n]) },
    });
    expect(ds.length).toBe(3);
    const b = await ds.getBatch([2, 0]);
    expect(b.x.shape).toEqual([2, 2]);
    expect(Array.from(b.x.data as Float32Array)).toEqual([10 / 255, 20 / 255, 0, 1].map(Math.fround));
    expect(Array.from(b.y.data as BigInt64Array)).toEqual([9n, 7n]);
    expect(() => ds.getBatch([3])).toThrow(/outside the dataset/);
    expect(() => new TensorDataset({ a: { dtype: 'float32', shape: [2], data: new Float32Array(3) } })).toThrow(/whole number/);
  });

  it('splits train/val disjointly, seeded', () => {
    const ds = new TensorDataset({ i: { dtype: 'int32', shape: [], data: Int32Array.from({ length: 20 }, (_, i) => i) } });
    const { train, val } = trainValSplit(ds, 0.25, 3);
    expect([train.length, val.length]).toEqual([15, 5]);
    const all = [...train.indices, ...val.indices].sort((a, b) => a - b);
    expect(all).toEqual([...Array(20).keys()]);
    expect(trainValSplit(ds, 0.25, 3).val.indices).toEqual(val.indices);
  });
});

describe('glyph dataset', () => {
  it('is deterministic from the seed and covers every class', () => {
    const a = glyphDataset({ n: 300, seed: 4 });
    const b = glyphDataset({ n: 300, seed: 4 });
    expect(a.columns.image.data).toEqual(b.columns.image.data);
    expect(glyphDataset({ n: 10, seed: 5 }).columns.image.data).not.toEqual(glyphDataset({ n: 10, seed: 4 }).columns.image.data);
    const labels = new Set(Array.from(a.columns.label.data as BigInt64Array, Number));
    expect(GLYPH_CLASSES.length).toBeGreaterThanOrEqual(10);
    expect(labels.size).toBe(GLYPH_CLASSES.length);
  });

  it('puts the ink inside the box', () => {
    for (let i = 0; i < 50; i++) {
      const g = drawGlyph(11, i, 32, [0, 0]);
      const [cx, cy, w, h] = g.box;
      expect(w).toBeGreaterThan(0); expect(h).toBeGreaterThan(0);
      let inside = 0, outside = 0;
      const bg = Math.min(...g.image); // noise-free: the background is one flat level
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
        const v = g.image[y * 32 + x];
        if (v <= bg + 5) continue;
        const nx = (x + 0.5) / 32, ny = (y + 0.5) / 32;
        if (Math.abs(nx - cx) <= w / 2 + 1.5 / 32 && Math.abs(ny - cy) <= h / 2 + 1.5 / 32) inside++; else outside++;
      }
      expect(inside).toBeGreaterThan(5);
      expect(outside).toBe(0);
    }
  });

  it('rejects bad sizes', () => {
    expect(() => glyphDataset({ n: 1, size: 16 })).toThrow(/32..64/);
  });
});
