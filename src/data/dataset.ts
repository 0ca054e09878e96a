// Datasets: a length and a way to fetch a batch of samples by index (sync or async).
import { numel, type Tensor, type DType, allocate, type TypedArray } from '../tensor.js';
import { permutation } from './rng.js';

/** A batch: named tensors, first dimension = batch size. */
export type Batch = Record<string, Tensor>;

/**
 * Where a training batch sits in the run: seeded augmentation is a pure function of (seed, epoch,
 * sample index), so a resumed run draws the very same augmented samples. Without it (validation,
 * evaluation, shape probes) a dataset returns its samples unaugmented.
 */
export interface BatchContext {
  epoch: number;
  seed: number;
}

export interface Dataset {
  readonly length: number;
  /** The samples at `indices`, stacked along a new first dimension. */
  getBatch(indices: ArrayLike<number>, ctx?: BatchContext): Batch | Promise<Batch>;
}

/** Per-sample shapes and dtypes of the columns of an in-memory dataset. */
export interface Column {
  dtype: DType;
  /** Shape of ONE sample. */
  shape: number[];
  /** All samples back to back (length = n × numel(shape)). */
  data: TypedArray;
  /**
   * Applied when batching, value * scale + shift, e.g. uint8 pixels → float32 in [0,1]. Arrays
   * give one scale / shift per channel (the first axis of the sample shape, CHW images).
   */
  transform?: { dtype: 'float32'; scale: number | readonly number[]; shift?: number | readonly number[] };
}

/** Per-channel scale and shift of a transform, one entry per channel of `shape`'s first axis. */
export function channelAffine(t: NonNullable<Column['transform']>, shape: readonly number[]): { scale: number[]; shift: number[] } {
  const channels = typeof t.scale === 'number' && typeof (t.shift ?? 0) === 'number' ? 1 : shape[0];
  const pick = (v: number | readonly number[] | undefined, dflt: number): number[] => {
    if (v === undefined) return new Array<number>(channels).fill(dflt);
    if (typeof v === 'number') return new Array<number>(channels).fill(v);
    if (v.length !== channels) throw new Error(`transform: ${v.length} per-channel values for ${channels} channels (sample shape [${shape}])`);
    return [...v];
  };
  return { scale: pick(t.scale, 1), shift: pick(t.shift, 0) };
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
      if (c.transform) channelAffine(c.transform, c.shape); // per-channel values match the channels
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
      const affine = c.transform ? channelAffine(c.transform, c.shape) : null;
      // uint8 pixels: each channel's 256 possible results, computed as below, then looked up
      const luts = affine && c.dtype === 'uint8' ? affine.scale.map((sc, ch) => Float32Array.from({ length: 256 }, (_, v) => v * sc + affine.shift[ch])) : null;
      for (let k = 0; k < b; k++) {
        const i = indices[k];
        if (!(i >= 0 && i < this.length) || !Number.isInteger(i)) {
          throw new RangeError(`index ${i} is outside the dataset (length ${this.length})`);
        }
        const src = c.data.subarray(i * per, (i + 1) * per);
        if (luts) {
          const dst = data as Float32Array, bytes = src as Uint8Array;
          const plane = per / luts.length;
          for (let ch = 0; ch < luts.length; ch++) {
            const lut = luts[ch];
            for (let j = ch * plane; j < (ch + 1) * plane; j++) dst[k * per + j] = lut[bytes[j]];
          }
        } else if (affine) {
          const dst = data as Float32Array;
          const { scale, shift } = affine;
          const plane = per / scale.length;
          for (let ch = 0; ch < scale.length; ch++) {
            const sc = scale[ch], sh = shift[ch];
            for (let j = ch * plane; j < (ch + 1) * plane; j++) dst[k * per + j] = Number(src[j]) * sc + sh;
          }
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
  getBatch(indices: ArrayLike<number>, ctx?: BatchContext): Batch | Promise<Batch> {
    const mapped = new Uint32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.length)) throw new RangeError(`index ${i} is outside the subset (length ${this.length})`);
      mapped[k] = this.indices[i];
    }
    return this.base.getBatch(mapped, ctx);
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
