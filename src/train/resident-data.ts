// Which datasets the trainer can hand to the engine whole (Engine `data`, then stepIndices /
// evaluateIndices by row): a TensorDataset, or Subsets of one (their indices mapped to base rows).
// Anything else (async or custom datasets) is fed batch by batch with getBatch + step.
import { Subset, TensorDataset, type Dataset } from '../data/dataset.js';
import type { Tensor } from '../tensor.js';

/** `ds` as rows of an in-memory TensorDataset: `rows[i]` is the base row of sample i (null: the identity). */
export function tensorRows(ds: Dataset): { base: TensorDataset; rows: Uint32Array | null } | null {
  if (ds instanceof TensorDataset) return { base: ds, rows: null };
  if (!(ds instanceof Subset)) return null;
  const inner = tensorRows(ds.base);
  if (!inner) return null;
  if (!inner.rows) return { base: inner.base, rows: ds.indices };
  return { base: inner.base, rows: ds.indices.map((i) => inner.rows![i]) };
}

/** Maps sample indices of `ds` to rows of `base`, or null when `ds` is not a view of `base`. */
export function rowMapper(ds: Dataset, base: TensorDataset | undefined): ((idx: ArrayLike<number>) => Int32Array) | null {
  const r = base ? tensorRows(ds) : null;
  if (!r || r.base !== base) return null;
  const rows = r.rows;
  return (idx) => {
    const out = new Int32Array(idx.length);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!(i >= 0 && i < ds.length)) throw new RangeError(`index ${i} is outside the dataset (length ${ds.length})`);
      out[k] = rows ? rows[i] : i;
    }
    return out;
  };
}

/**
 * The whole dataset as engine data tensors (columns `names`), bitwise what getBatch returns:
 * plain columns are passed as they are (no copy); transformed ones (uint8 pixels → float32) are
 * converted once on the host by getBatch itself, because the engine's float32 transform on the
 * device rounds differently from getBatch's (e.g. v * (1/255): 126 of the 256 byte values differ).
 */
export function residentTensors(base: TensorDataset, names: readonly string[]): Record<string, Tensor> {
  const n = base.length;
  const out: Record<string, Tensor> = {};
  for (const name of names) {
    const c = base.columns[name];
    if (!c) throw new Error(`the dataset has no column "${name}"`);
    if (!c.transform) {
      out[name] = { dtype: c.dtype, shape: [n, ...c.shape], data: c.data };
      continue;
    }
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    out[name] = new TensorDataset({ [name]: c }).getBatch(all)[name];
  }
  return out;
}
