import { describe, expect, it } from 'vitest';
import { AugmentedDataset, drawAugment, STANDARD_AUGMENT } from './augment.js';
import { glyphDataset } from './glyphs.js';
import { TensorDataset } from './dataset.js';

const base = glyphDataset({ n: 24, seed: 2 });
const all = Array.from({ length: 24 }, (_, i) => i);
const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('seeded augmentation', () => {
  it('is a pure function of (seed, epoch, index): equal across instances and calls, new each epoch, none without a context', () => {
    const a = new AugmentedDataset(base, null, STANDARD_AUGMENT), b = new AugmentedDataset(base, null, STANDARD_AUGMENT);
    const x = a.getBatch([3, 7, 11], { epoch: 2, seed: 5 });
    b.getBatch([1, 2], { epoch: 0, seed: 5 }); // other draws first change nothing
    const y = b.getBatch([3, 7, 11], { epoch: 2, seed: 5 });
    for (const k of ['image', 'label', 'box']) expect(bytes(y[k].data).equals(bytes(x[k].data))).toBe(true);
    expect(bytes(a.getBatch([3], { epoch: 2, seed: 5 }).image.data).equals(bytes(x.image.data.subarray(0, 1024)))).toBe(true); // independent of its batch-mates
    expect(bytes(a.getBatch([3, 7, 11], { epoch: 3, seed: 5 }).image.data).equals(bytes(x.image.data))).toBe(false);
    expect(bytes(a.getBatch([3, 7, 11], { epoch: 2, seed: 6 }).image.data).equals(bytes(x.image.data))).toBe(false);
    const plain = a.getBatch([3, 7, 11]);
    for (const k of ['image', 'label', 'box']) expect(bytes(plain[k].data).equals(bytes(base.getBatch([3, 7, 11])[k].data))).toBe(true);
  });

  it('a flip mirrors the pixels and the box exactly; shifts move both and never cut the box', () => {
    const flip = new AugmentedDataset(base, null, { hflip: 1 }).getBatch(all, { epoch: 0, seed: 1 });
    const ref = base.getBatch(all);
    const img = flip.image.data as Float32Array, r = ref.image.data as Float32Array;
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) expect(img[y * 32 + x]).toBe(r[y * 32 + 31 - x]);
    const fb = flip.box.data as Float32Array, rb = ref.box.data as Float32Array;
    for (let i = 0; i < 24; i++) expect([fb[4 * i], fb[4 * i + 2]]).toEqual([Math.fround(1 - rb[4 * i]), rb[4 * i + 2]]);
    const shifted = new AugmentedDataset(base, null, { translate: 0.25 });
    let moved = 0;
    for (let epoch = 0; epoch < 5; epoch++) {
      const s = shifted.getBatch(all, { epoch, seed: 9 });
      const sb = s.box.data as Float32Array, si = s.image.data as Float32Array;
      for (let i = 0; i < 24; i++) {
        const d = drawAugment({ translate: 0.25 }, 9, epoch, i, 32, rb.subarray(4 * i, 4 * i + 4));
        if (d.dx || d.dy) moved++;
        expect(sb[4 * i] - sb[4 * i + 2] / 2).toBeGreaterThanOrEqual(-1e-6);
        expect(sb[4 * i] + sb[4 * i + 2] / 2).toBeLessThanOrEqual(1 + 1e-6);
        expect(sb[4 * i + 1]).toBeCloseTo(rb[4 * i + 1] + d.dy / 32, 6);
        const y = 16, x = 16; // a pixel that came from inside the image
        if (y - d.dy >= 0 && y - d.dy < 32 && x - d.dx >= 0 && x - d.dx < 32) expect(si[i * 1024 + y * 32 + x]).toBe(r[i * 1024 + (y - d.dy) * 32 + x - d.dx]);
      }
    }
    expect(moved).toBeGreaterThan(90);
  });

  it('brightness and contrast stay within the pixel range and keep labels; per-channel normalisation applies after them', () => {
    const px = Uint8Array.from({ length: 2 * 3 * 16 }, (_, i) => (i * 37) % 256);
    const rgb = new TensorDataset({
      image: { dtype: 'uint8', shape: [3, 4, 4], data: px, transform: { dtype: 'float32', scale: [1 / 255, 2 / 255, 4 / 255], shift: [0, -1, -2] } },
      label: { dtype: 'int64', shape: [], data: BigInt64Array.from([4n, 1n]) },
    });
    const a = new AugmentedDataset(rgb, null, { brightness: 0.9, contrast: 0.9 });
    for (let epoch = 0; epoch < 20; epoch++) {
      const b = a.getBatch([0, 1], { epoch, seed: 3 });
      expect(Array.from(b.label.data as BigInt64Array)).toEqual([4n, 1n]);
      const v = b.image.data as Float32Array;
      for (let i = 0; i < v.length; i++) {
        const ch = Math.floor((i % 48) / 16);
        const raw = (v[i] - [0, -1, -2][ch]) / [1, 2, 4][ch] * 255;
        expect(raw).toBeGreaterThanOrEqual(-1e-3);
        expect(raw).toBeLessThanOrEqual(255 + 1e-3);
      }
    }
    expect(() => new AugmentedDataset(new TensorDataset({ x: { dtype: 'float32', shape: [2], data: new Float32Array(4) } }), null, { hflip: 1 })).toThrow(/needs an "image" column of uint8/);
  });
});
