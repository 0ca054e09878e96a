// The resumable sampler: epoch e visits the samples in the order permutation(n, seed, e); its
// whole state is { epoch, position } (position = samples of this epoch already handed out), so
// a resumed run recomputes that epoch's permutation and continues at the very next sample
// without reading or skipping the earlier batches.
import { z } from 'zod';
import { permutation } from './rng.js';

export const ResumableSamplerStateSchema = z.object({
  epoch: z.number().int().nonnegative(),
  position: z.number().int().nonnegative(),
});
export type SamplerState = z.infer<typeof ResumableSamplerStateSchema>;

export interface SamplerOptions {
  /** Number of samples in the dataset. */
  length: number;
  batchSize: number;
  seed: number;
  /** Shuffle each epoch (default true). Without it every epoch is 0..n-1. */
  shuffle?: boolean;
  /**
   * Drop the last partial batch (default true): the training engine runs a fixed batch shape, so
   * every training batch is full; each epoch still sees a fresh permutation, so no sample is
   * systematically left out.
   */
  dropLast?: boolean;
}

export class ResumableSampler {
  readonly length: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private epoch = 0;
  private position = 0;
  private order: Uint32Array | null = null;
  private orderEpoch = -1;

  constructor(opts: SamplerOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (opts.length < 1) throw new Error('the dataset is empty');
    this.length = opts.length;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
    this.shuffle = opts.shuffle ?? true;
    this.dropLast = opts.dropLast ?? true;
    if (this.dropLast && this.length < this.batchSize) {
      throw new Error(`batch size ${this.batchSize} is larger than the dataset (${this.length} samples): lower the batch size`);
    }
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.length / this.batchSize) : Math.ceil(this.length / this.batchSize);
  }

  /** Sample indices of epoch `epoch`, in visiting order. */
  epochOrder(epoch: number): Uint32Array {
    if (this.orderEpoch !== epoch || !this.order) {
      if (this.shuffle) this.order = permutation(this.length, this.seed, epoch);
      else {
        this.order = new Uint32Array(this.length);
        for (let i = 0; i < this.length; i++) this.order[i] = i;
      }
      this.orderEpoch = epoch;
    }
    return this.order;
  }

  /** The next batch of indices in the current epoch, or null when the epoch is exhausted. */
  next(): Uint32Array | null {
    const end = this.position + this.batchSize;
    if (end > this.length && (this.dropLast || this.position >= this.length)) return null;
    const order = this.epochOrder(this.epoch);
    const batch = order.slice(this.position, Math.min(end, this.length));
    this.position += batch.length;
    return batch;
  }

  /** Start epoch `epoch` at its beginning. */
  startEpoch(epoch: number): void {
    this.epoch = epoch;
    this.position = 0;
  }


  state(): SamplerState { return { epoch: this.epoch, position: this.position }; }

  setState(s: SamplerState): void {
    const st = ResumableSamplerStateSchema.parse(s);
    if (st.position > this.length) throw new Error(`sampler position ${st.position} is beyond the dataset (length ${this.length})`);
    this.epoch = st.epoch;
    this.position = st.position;
  }
}

/** Sequential batches of 0..n-1 for evaluation; the last one may be short. */
export function* sequentialBatches(length: number, batchSize: number): Generator<Uint32Array> {
  for (let s = 0; s < length; s += batchSize) {
    const e = Math.min(length, s + batchSize);
    const b = new Uint32Array(e - s);
    for (let i = 0; i < b.length; i++) b[i] = s + i;
    yield b;
  }
}
