// Synthetic glyph detection: one stroke-drawn glyph per image (12 shape classes), random
// position, size, stroke width, background and noise; label + bounding box. Deterministic from
// the seed (sample i depends only on (seed, i)), nothing downloaded.
import { TensorDataset } from './dataset.js';
import { CounterRng } from './rng.js';

type Pt = [number, number];
/** Each glyph: polylines in a unit box, y pointing down. */
const SHAPES: Record<string, Pt[][]> = {
  line: [[[0.5, 0], [0.5, 1]]],
  plus: [[[0.5, 0], [0.5, 1]], [[0, 0.5], [1, 0.5]]],
  circle: [Array.from({ length: 25 }, (_, k): Pt => [0.5 + 0.5 * Math.cos((k / 24) * 2 * Math.PI), 0.5 + 0.5 * Math.sin((k / 24) * 2 * Math.PI)])],
  square: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
  triangle: [[[0.5, 0], [1, 1], [0, 1], [0.5, 0]]],
  L: [[[0, 0], [0, 1], [1, 1]]],
  T: [[[0, 0], [1, 0]], [[0.5, 0], [0.5, 1]]],
  X: [[[0, 0], [1, 1]], [[1, 0], [0, 1]]],
  arrow: [[[0, 0.5], [1, 0.5]], [[0.55, 0.1], [1, 0.5], [0.55, 0.9]]],
  zigzag: [[[0, 0], [1, 0.33], [0, 0.66], [1, 1]]],
  diamond: [[[0.5, 0], [1, 0.5], [0.5, 1], [0, 0.5], [0.5, 0]]],
  H: [[[0, 0], [0, 1]], [[1, 0], [1, 1]], [[0, 0.5], [1, 0.5]]],
};

export const GLYPH_CLASSES: readonly string[] = Object.keys(SHAPES);

export interface GlyphOptions {
  /** Number of samples. */
  n: number;
  seed?: number;
  /** Image side in pixels, 32–64 (default 32). */
  size?: number;
  /** Pixel noise standard deviation range, as a fraction of full scale (default [0.03, 0.12]). */
  noise?: [number, number];
  /** Up to this many short distractor strokes per image, fainter than the glyph (default 0). */
  clutter?: number;
}

export interface GlyphSample {
  image: Uint8Array;
  label: number;
  /** Normalised [cx, cy, w, h] in [0, 1]. */
  box: [number, number, number, number];
}

function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = px - (ax + t * dx), ey = py - (ay + t * dy);
  return Math.sqrt(ex * ex + ey * ey);
}

/** Draw sample `index` of the stream `seed`. */
export function drawGlyph(seed: number, index: number, size = 32, noise: [number, number] = [0.03, 0.12], clutter = 0): GlyphSample {
  const rng = new CounterRng(seed, index + 1);
  const label = rng.int(GLYPH_CLASSES.length);
  const strokes = SHAPES[GLYPH_CLASSES[label]];
  const thick = rng.range(1.1, 2.4);
  const w = rng.range(0.35, 0.8) * size;
  const h = Math.min(0.85 * size, Math.max(0.3 * size, w * rng.range(0.75, 1.33)));
  const x0 = rng.range(thick, size - w - thick);
  const y0 = rng.range(thick, size - h - thick);
  const segs: number[][] = [];
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const line of strokes) {
    for (let k = 0; k + 1 < line.length; k++) {
      const a = line[k], b = line[k + 1];
      const s = [x0 + a[0] * w, y0 + a[1] * h, x0 + b[0] * w, y0 + b[1] * h];
      segs.push(s);
      minX = Math.min(minX, s[0], s[2]); maxX = Math.max(maxX, s[0], s[2]);
      minY = Math.min(minY, s[1], s[3]); maxY = Math.max(maxY, s[1], s[3]);
    }
  }
  const half = thick / 2;
  const bx0 = Math.max(0, minX - half), bx1 = Math.min(size, maxX + half);
  const by0 = Math.max(0, minY - half), by1 = Math.min(size, maxY + half);
  const bg = rng.range(0, 0.25);
  const fg = rng.range(0.7, 1);
  const sigma = rng.range(noise[0], noise[1]);
  // distractors: short faint strokes anywhere (drawn after the glyph's random draws, so clutter 0
  // leaves every earlier dataset unchanged)
  const distract: number[][] = [];
  const nd = clutter > 0 ? rng.int(clutter + 1) : 0;
  for (let k = 0; k < nd; k++) {
    const x = rng.range(0, size), y = rng.range(0, size), a = rng.range(0, Math.PI), l = rng.range(2, size / 5);
    distract.push([x, y, x + l * Math.cos(a), y + l * Math.sin(a), rng.range(0.3, 0.6)]);
  }
  const image = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const px = x + 0.5, py = y + 0.5;
      let v = bg;
      if (px > bx0 - 1 && px < bx1 + 1 && py > by0 - 1 && py < by1 + 1) {
        let d = Infinity;
        for (const s of segs) d = Math.min(d, segDist(px, py, s[0], s[1], s[2], s[3]));
        const cover = Math.min(1, Math.max(0, half + 0.5 - d)); // 1-pixel anti-aliased edge
        v = bg + (fg - bg) * cover;
      }
      for (const d of distract) {
        const cover = Math.min(1, Math.max(0, 1 - segDist(px, py, d[0], d[1], d[2], d[3])));
        v = Math.max(v, bg + (fg - bg) * d[4] * cover);
      }
      v += sigma * rng.normal();
      image[y * size + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  const box: [number, number, number, number] = [(bx0 + bx1) / 2 / size, (by0 + by1) / 2 / size, (bx1 - bx0) / size, (by1 - by0) / size];
  return { image, label, box };
}

/**
 * The glyph dataset as columns `image` (float32 [1, S, S] in [0, 1], stored as uint8),
 * `label` (int64 class id, see GLYPH_CLASSES) and `box` (float32 [cx, cy, w, h], normalised).
 */
export function glyphDataset(opts: GlyphOptions): TensorDataset {
  const { n, seed = 0, size = 32, noise, clutter = 0 } = opts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`glyph dataset: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(size) || size < 32 || size > 64) throw new Error(`glyph dataset: size must be an integer in 32..64, got ${size}`);
  const images = new Uint8Array(n * size * size);
  const labels = new BigInt64Array(n);
  const boxes = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    const g = drawGlyph(seed, i, size, noise, clutter);
    images.set(g.image, i * size * size);
    labels[i] = BigInt(g.label);
    boxes.set(g.box, i * 4);
  }
  return new TensorDataset({
    image: { dtype: 'uint8', shape: [1, size, size], data: images, transform: { dtype: 'float32', scale: 1 / 255 } },
    label: { dtype: 'int64', shape: [], data: labels },
    box: { dtype: 'float32', shape: [4], data: boxes },
  });
}

/** ASCII rendering of an image (for docs and debugging). */
export function glyphAscii(image: Uint8Array, size = 32): string {
  const ramp = ' .:-=+*#%@';
  const rows: string[] = [];
  for (let y = 0; y < size; y++) {
    let r = '';
    for (let x = 0; x < size; x++) r += ramp[Math.min(9, Math.floor(image[y * size + x] / 25.6))];
    rows.push(r);
  }
  return rows.join('\n');
}
