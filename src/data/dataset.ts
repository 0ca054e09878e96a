// Datasets: a length and a way to fetch a batch of samples by index (sync or async).
import { numel, type Tensor, type DType, allocate, type TypedArray } from '../tensor.js';
import { permutation } from './rng.js';

/** A batch: named tensors, first dimension = batch size. */
export type Batch = Record<string, Tensor>;

export interface Dataset {
  readonly length: number;
  /** The samples at `indices`, stacked along a new first dimension. */
  getBatch(indices: ArrayLike<number>): Batch | Promise<Batch>;
}

/** Per-sample shapes and dtypes of the columns of an in-memory dataset. */
export interface Column {
  dtype: DType;
  /** Shape of ONE sample. */
  shape: number[];
  /** All samples back to back (length = n × numel(shape)). */
  data: TypedArray;
  /** Applied when batching, e.g. uint8 pixels → float32 in [0,1]. */
  transform?: { dtype: 'float32'; scale: number; shift?: number };
}

/** An in-memory dataset of equally shaped columns. Batches are copies (safe to hand to the engine). */
export class TensorDataset implements Dataset {
  readonly length: number;
  constructor(readonly columns: Record<string, Column>) {
    const names = Object.keys(columns);
    if (names.length === 0) throw new Error('TensorDataset needs at least one column');
    let n = -1;
    for (const name of names) {
      const c = columns[name];
      const per = numel(c.shape);
      if (per === 0 || c.data.length % per !== 0) {
        throw new Error(`column ${name}: ${c.data.length} values is not a whole number of samples of shape [${c.shape}]`);
      }
      const count = c.data.length / per;
      if (n >= 0 && count !== n) throw new Error(`column ${name} has ${count} samples, the others ${n}`);
      n = count;
    }
    this.length = n;
  }

  getBatch(indices: ArrayLike<number>): Batch {
    const out: Batch = {};
    for (const [name, c] of Object.entries(this.columns)) {
      const per = numel(c.shape);
      const b = indices.length;
      const dtype = c.transform ? c.transform.dtype : c.dtype;
      const data = allocate(dtype, b * per);
      for (let k = 0; k < b; k++) {
        const i = indices[k];
        if (!(i >= 0 && i < this.length) || !Number.isInteger(i)) {
          throw new RangeError(`index ${i} is outside the dataset (length ${this.length})`);
        }
        const src = c.data.subarray(i * per, (i + 1) * per);
        if (c.transform) {
          const dst = data as Float32Array;
          const { scale, shift = 0 } = c.transform;
          for (let j = 0; j < per; j++) dst[k * per + j] = Number(src[j]) * scale + shift;
        } else {
          (data as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(src as ArrayLike<unknown>, k * per);
        }
      }
      out[name] = { dtype, shape: [b, ...c.shape], data };
    }
    return out;
  }
}

/** A view of `base` through an index list. */
export class Subset implements Dataset {
  readonly length: number;
  constructor(readonly base: Dataset, readonly indices: Uint32Array) {
    for (const i of indices) if (i >= base.length) throw new RangeError(`subset index ${i} is outside the dataset (length ${base.length})`);
    this.length = indices.length;
  }
  getBatch(indices: ArrayLike<number>): Batch | Promise<Batch> {
    const mapped = new Uint32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.length)) throw new RangeError(`index ${i} is outside the subset (length ${this.length})`);
      mapped[k] = this.indices[i];
    }
    return this.base.getBatch(mapped);
  }
}

/**
 * Train/validation split. `valFraction` of the samples (rounded) go to validation; with a `seed`
 * the split is a seeded shuffle, without one the last samples are the validation set.
 */
export function trainValSplit(ds: Dataset, valFraction: number, seed?: number): { train: Subset; val: Subset } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`valFraction must be in [0, 1), got ${valFraction}`);
  const n = ds.length;
  const nVal = Math.round(n * valFraction);
  let order: Uint32Array;
  if (seed === undefined) {
    order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  } else {
    order = permutation(n, seed, 0x5b1d);
  }
  return { train: new Subset(ds, order.slice(0, n - nVal)), val: new Subset(ds, order.slice(n - nVal)) };
}
