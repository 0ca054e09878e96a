// Seeded augmentation of image datasets (uint8 CHW `image`, optional (cx, cy, w, h) `box`): a
// horizontal flip, a random translation (PyTorch's RandomCrop with zero padding), brightness and
// contrast. What happens to sample i in epoch e is a pure function of (seed, e, i) — counter-based
// random numbers, no generator state — so a resumed run augments exactly as an uninterrupted one.
// Only + − ×, floor and min/max are used, which IEEE 754 defines exactly on every machine.
import { channelAffine, TensorDataset, type Batch, type BatchContext, type Column, type Dataset } from './dataset.js';
import { hash32, uniform } from './rng.js';

export interface AugmentOptions {
  /** Probability of a horizontal flip (a box flips with the image). */
  hflip?: number;
  /**
   * Largest shift per axis as a fraction of the image side; pixels shifted in are 0. A box moves
   * with the image and is never pushed out of it (the shift range is narrowed to keep it whole).
   */
  translate?: number;
  /** Brightness factor drawn uniformly from [1 − b, 1 + b]. */
  brightness?: number;
  /** Contrast factor drawn uniformly from [1 − c, 1 + c], around the image's mean grey level. */
  contrast?: number;
}

/** `--augment`: flips, ±10 % shifts, ±20 % brightness and contrast. */
export const STANDARD_AUGMENT: Required<AugmentOptions> = { hflip: 0.5, translate: 0.1, brightness: 0.2, contrast: 0.2 };

export function augmentActive(o: AugmentOptions | null | undefined): o is AugmentOptions {
  return !!o && ((o.hflip ?? 0) > 0 || (o.translate ?? 0) > 0 || (o.brightness ?? 0) > 0 || (o.contrast ?? 0) > 0);
}

/** What is done to one sample. */
export interface AugmentDraw { flip: boolean; dx: number; dy: number; brightness: number; contrast: number }

const STREAM = 0x61756731; // "aug1": apart from the sampler's and the split's streams

/** The draw of sample `index` in `epoch`; `box` (cx, cy, w, h in [0, 1]) narrows the shifts. */
export function drawAugment(o: AugmentOptions, seed: number, epoch: number, index: number, size: number, box: ArrayLike<number> | null): AugmentDraw {
  const s = hash32(seed, STREAM, epoch);
  const u = (k: number) => uniform(s, index, k);
  const flip = u(0) < (o.hflip ?? 0);
  const t = Math.floor((o.translate ?? 0) * size);
  let xlo = -t, xhi = t, ylo = -t, yhi = t;
  if (box && t > 0) {
    const cx = flip ? 1 - box[0] : box[0];
    xlo = Math.max(-t, -Math.floor((cx - box[2] / 2) * size + 1e-6));
    xhi = Math.min(t, Math.floor((1 - cx - box[2] / 2) * size + 1e-6));
    ylo = Math.max(-t, -Math.floor((box[1] - box[3] / 2) * size + 1e-6));
    yhi = Math.min(t, Math.floor((1 - box[1] - box[3] / 2) * size + 1e-6));
  }
  const pick = (lo: number, hi: number, v: number) => (hi < lo ? 0 : lo + Math.min(hi - lo, Math.floor(v * (hi - lo + 1))));
  return {
    flip,
    dx: t > 0 ? pick(xlo, xhi, u(1)) : 0,
    dy: t > 0 ? pick(ylo, yhi, u(2)) : 0,
    brightness: 1 + (o.brightness ?? 0) * (2 * u(3) - 1),
    contrast: 1 + (o.contrast ?? 0) * (2 * u(4) - 1),
  };
}

/** Mean grey level (ITU-R 601 weights for RGB) of one CHW uint8 image. */
export function greyMean(px: Uint8Array, off: number, channels: number, plane: number): number {
  let s = 0;
  if (channels === 3) for (let i = 0; i < plane; i++) s += 0.299 * px[off + i] + 0.587 * px[off + plane + i] + 0.114 * px[off + 2 * plane + i];
  else for (let i = 0; i < plane; i++) s += px[off + i];
  return s / plane;
}

export interface ImageLayout { channels: number; size: number; scale: number[]; shift: number[] }

/**
 * Writes the augmented, normalised image (float32, CHW) of `src` at `srcOff` into `out` at
 * `outOff`. Colour changes apply only when `color` (so flips and shifts alone keep exact pixels).
 * Every output value depends on its source byte alone, so a 256-entry table per channel holds
 * them (the same float arithmetic, done once per byte value instead of once per pixel).
 */
export function augmentImage(src: Uint8Array, srcOff: number, l: ImageLayout, d: AugmentDraw, mean: number, color: boolean, out: Float32Array, outOff: number, lut = new Float32Array(256)): void {
  const S = l.size, plane = S * S;
  const b = d.brightness, c = d.contrast, m = mean * b;
  // output columns [x0, x1) come from the image, the rest are filled with byte value 0
  const x0 = Math.max(0, d.dx), x1 = Math.min(S, S + d.dx);
  for (let ch = 0; ch < l.channels; ch++) {
    const sc = l.scale[ch], sh = l.shift[ch];
    for (let v = 0; v < 256; v++) {
      let x = v;
      if (color) {
        x = Math.min(255, Math.max(0, x * b));
        x = Math.min(255, Math.max(0, (x - m) * c + m));
      }
      lut[v] = x * sc + sh;
    }
    const fill = lut[0];
    const so = srcOff + ch * plane, oo = outOff + ch * plane;
    for (let y = 0; y < S; y++) {
      const sy = y - d.dy, o = oo + y * S;
      if (sy < 0 || sy >= S) { out.fill(fill, o, o + S); continue; }
      const row = so + sy * S;
      out.fill(fill, o, o + x0);
      if (d.flip) for (let x = x0; x < x1; x++) out[o + x] = lut[src[row + S - 1 - x + d.dx]];
      else for (let x = x0; x < x1; x++) out[o + x] = lut[src[row + x - d.dx]];
      out.fill(fill, o + x1, o + S);
    }
  }
}

/**
 * Rows `rows` of an image TensorDataset (all of it when null), augmented when getBatch is given a
 * {@link BatchContext}; without one (validation, evaluation) the samples come back unchanged.
 */
export class AugmentedDataset implements Dataset {
  readonly length: number;
  private readonly layout: ImageLayout;
  private readonly pixels: Uint8Array;
  private readonly rest: TensorDataset | null;
  private readonly means: Float64Array;

  constructor(readonly base: TensorDataset, readonly rows: Uint32Array | null, readonly options: AugmentOptions) {
    const img = base.columns.image as Column | undefined;
    if (!img || img.dtype !== 'uint8' || img.shape.length !== 3 || img.shape[1] !== img.shape[2] || !img.transform) {
      throw new Error('augmentation needs an "image" column of uint8 [channels, size, size] pixels with a float32 transform');
    }
    this.pixels = img.data as Uint8Array;
    this.layout = { channels: img.shape[0], size: img.shape[1], ...channelAffine(img.transform, img.shape) };
    if (this.layout.scale.length === 1) this.layout = { ...this.layout, scale: new Array<number>(img.shape[0]).fill(this.layout.scale[0]), shift: new Array<number>(img.shape[0]).fill(this.layout.shift[0]) };
    const others = Object.fromEntries(Object.entries(base.columns).filter(([k]) => k !== 'image'));
    this.rest = Object.keys(others).length ? new TensorDataset(others) : null;
    this.length = rows ? rows.length : base.length;
    this.means = new Float64Array(base.length).fill(NaN);
  }

  private baseRows(indices: ArrayLike<number>): Uint32Array {
    const out = new Uint32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!(i >= 0 && i < this.length) || !Number.isInteger(i)) throw new RangeError(`index ${i} is outside the dataset (length ${this.length})`);
      out[k] = this.rows ? this.rows[i] : i;
    }
    return out;
  }

  getBatch(indices: ArrayLike<number>, ctx?: BatchContext): Batch {
    const rows = this.baseRows(indices);
    if (!ctx) return this.base.getBatch(rows);
    const { channels, size } = this.layout;
    const per = channels * size * size;
    const image = new Float32Array(rows.length * per);
    const batch: Batch = this.rest ? this.rest.getBatch(rows) : {};
    const box = batch.box?.data as Float32Array | undefined;
    const color = (this.options.brightness ?? 0) > 0 || (this.options.contrast ?? 0) > 0;
    const lut = new Float32Array(256);
    for (let k = 0; k < rows.length; k++) {
      const r = rows[k];
      const b = box ? box.subarray(4 * k, 4 * k + 4) : null;
      const d = drawAugment(this.options, ctx.seed, ctx.epoch, indices[k], size, b);
      if (color && Number.isNaN(this.means[r])) this.means[r] = greyMean(this.pixels, r * per, channels, size * size);
      augmentImage(this.pixels, r * per, this.layout, d, this.means[r], color, image, k * per, lut);
      if (b) {
        b[0] = (d.flip ? 1 - b[0] : b[0]) + d.dx / size;
        b[1] = b[1] + d.dy / size;
      }
    }
    return { image: { dtype: 'float32', shape: [rows.length, channels, size, size], data: image }, ...batch };
  }
}
