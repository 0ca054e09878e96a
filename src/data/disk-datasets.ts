// A dataset from disk as the trainer uses it: train and validation views of one decoded
// TensorDataset, split by the data itself (train/val folders, a CSV split column) or by a seeded
// fraction; the training view augmented when asked (validation never is).
import { AugmentedDataset, augmentActive, type AugmentOptions } from './augment.js';
import { DataError } from './errors.js';
import { Subset, trainValSplit, type Dataset, type TensorDataset } from './dataset.js';
import { loadImageDataset, type ImageData, type ImageDatasetOptions } from './image-dataset.js';

export interface DiskDatasetOptions extends ImageDatasetOptions {
  /** Validation share when the data names no split (default 0.125). */
  valFraction?: number;
  /** Seed of the train/validation split. */
  seed?: number;
  augment?: AugmentOptions;
}

/**
 * Train rows of `base` as a dataset: a plain view (the engine holds the data and gathers each
 * step's rows inside the graph), or augmented, fed as host batches — the resident graph reads
 * fixed rows, and augmenting there would need per-step inputs the engine does not take yet.
 * bench/data.ts measures the cost: making an augmented batch took ~2.8 % of a glyph-CNN CPU step
 * (64×64 RGB, batch 32, same run); unaugmented resident data costs no host work per step.
 */
export function trainView(base: TensorDataset, rows: Uint32Array | null, augment: AugmentOptions | undefined): Dataset {
  if (augmentActive(augment)) return new AugmentedDataset(base, rows, augment);
  return rows ? new Subset(base, rows) : base;
}

export async function diskDatasets(o: DiskDatasetOptions): Promise<{ train: Dataset; val?: Dataset; data: ImageData }> {
  const data = await loadImageDataset(o);
  const base = data.dataset;
  let trainRows: Uint32Array, valRows: Uint32Array;
  if (data.splits) {
    const tr: number[] = [], va: number[] = [];
    data.splits.forEach((s, i) => (s === 'val' ? va : tr).push(i));
    trainRows = Uint32Array.from(tr);
    valRows = Uint32Array.from(va);
  } else {
    const s = trainValSplit(base, o.valFraction ?? 0.125, o.seed ?? 0);
    trainRows = s.train.indices;
    valRows = s.val.indices;
  }
  if (!trainRows.length) throw new DataError(`${data.identity.ann ?? data.identity.root}: every image is in the validation split; put some in train`);
  const val = valRows.length ? new Subset(base, valRows) : undefined;
  return { train: trainView(base, trainRows, o.augment), val, data };
}
