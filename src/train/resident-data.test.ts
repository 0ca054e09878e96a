import { describe, expect, it } from 'vitest';
import { Subset, TensorDataset, type Dataset } from '../data/dataset.js';
import { residentTensors, rowMapper, tensorRows } from './resident-data.js';

const base = new TensorDataset({
  x: { dtype: 'uint8', shape: [3], data: Uint8Array.from({ length: 30 }, (_, i) => (i * 37) % 256), transform: { dtype: 'float32', scale: 1 / 255, shift: -0.5 } },
  y: { dtype: 'int64', shape: [], data: BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i % 4)) },
});

describe('resident-data', () => {
  it('maps nested Subsets to base rows; other datasets and other bases get no mapper', () => {
    const inner = new Subset(base, Uint32Array.of(9, 7, 5, 3, 1));
    const outer = new Subset(inner, Uint32Array.of(4, 0, 2));
    expect(tensorRows(base)).toEqual({ base, rows: null });
    expect(Array.from(tensorRows(outer)!.rows!)).toEqual([1, 9, 5]);
    const custom: Dataset = { length: 10, getBatch: (i) => base.getBatch(i) };
    expect(tensorRows(custom)).toBeNull();
    expect(tensorRows(new Subset(custom, Uint32Array.of(1)))).toBeNull();
    expect(rowMapper(outer, new TensorDataset({ ...base.columns }))).toBeNull();
    expect(rowMapper(outer, undefined)).toBeNull();
    const map = rowMapper(outer, base)!;
    expect(Array.from(map(Uint32Array.of(2, 1, 0)))).toEqual([5, 9, 1]);
    expect(() => map([3])).toThrow(/index 3 is outside the dataset \(length 3\)/);
    expect(Array.from(rowMapper(base, base)!([8, 2]))).toEqual([8, 2]);
  });

  it('gives the whole dataset bitwise as getBatch does; plain columns are not copied', () => {
    const t = residentTensors(base, ['x', 'y']);
    const all = base.getBatch(Array.from({ length: 10 }, (_, i) => i));
    expect(t.x).toEqual(all.x);
    expect(t.x.dtype).toBe('float32');
    expect(t.y.data).toBe(base.columns.y.data);
    expect(t.y.shape).toEqual([10]);
    expect(Object.keys(residentTensors(base, ['y']))).toEqual(['y']);
    expect(() => residentTensors(base, ['z'])).toThrow(/no column "z"/);
  });
});
