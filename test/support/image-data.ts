// Writes a small image dataset to disk as users have them: glyph images of varied sizes placed on
// larger canvases, PNG and JPEG mixed, RGB and grayscale mixed, with an annotation CSV of pixel
// boxes (filename,class,x,y,w,h), class sub-folders, or the YOLO txt layout.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { drawGlyph, GLYPH_CLASSES } from '../../src/data/glyphs.js';

export interface WrittenImage { file: string; cls: string; width: number; height: number; box: [number, number, number, number]; gray: boolean }

export interface ImageSetOptions {
  n: number;
  seed?: number;
  /** 'csv' (default), 'folder' (class sub-folders) or 'yolo'. */
  layout?: 'csv' | 'folder' | 'yolo';
  /** Every image grayscale (default: every third image RGB, the rest grayscale). */
  allGray?: boolean;
  /** Add a small second box to every fourth image (CSV). */
  extraBoxes?: boolean;
  /** Canvas at least this wide (and 3/4 as tall), for photo-sized images (default: just around the glyph). */
  canvas?: number;
}

/** Image i: a glyph of side 32–48 on a canvas up to 16 px wider / 8 px taller, offset inside it. */
function render(i: number, seed: number, allGray: boolean, canvas = 0): { raw: Buffer; channels: 1 | 3; width: number; height: number; box: [number, number, number, number]; cls: string; gray: boolean } {
  const side = 32 + ((i * 7) % 17);
  const g = drawGlyph(seed, i, side);
  const width = Math.max(canvas, side + ((i * 5) % 17)), height = Math.max(Math.round(canvas * 0.75), side + ((i * 3) % 9));
  const ox = (i * 11) % (width - side + 1), oy = (i * 13) % (height - side + 1);
  const gray = allGray || i % 3 !== 0;
  const channels = gray ? 1 : 3;
  const raw = Buffer.alloc(width * height * channels, 30);
  if (canvas) { // photo-like: a noisy background that does not compress away
    let h = (seed * 0x9e3779b1 + i) >>> 0;
    for (let k = 0; k < raw.length; k++) { h = (Math.imul(h, 1664525) + 1013904223) >>> 0; raw[k] = 20 + (h >>> 26); }
  }
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) {
    const v = g.image[y * side + x], p = (y + oy) * width + (x + ox);
    if (gray) raw[p] = v;
    else { raw[3 * p] = v; raw[3 * p + 1] = Math.round(v * 0.7); raw[3 * p + 2] = 255 - Math.round(v * 0.5); }
  }
  const [cx, cy, w, h] = g.box;
  const box: [number, number, number, number] = [ox + (cx - w / 2) * side, oy + (cy - h / 2) * side, w * side, h * side];
  return { raw, channels, width, height, box, cls: GLYPH_CLASSES[g.label], gray };
}

export async function writeImageSet(dir: string, o: ImageSetOptions): Promise<{ dir: string; ann?: string; images: WrittenImage[] }> {
  const layout = o.layout ?? 'csv', seed = o.seed ?? 1;
  fs.mkdirSync(dir, { recursive: true });
  const images: WrittenImage[] = [];
  const rows = ['filename,class,x,y,w,h'];
  for (let i = 0; i < o.n; i++) {
    const r = render(i, seed, !!o.allGray, o.canvas);
    const ext = i % 2 ? 'jpg' : 'png';
    const name = `img_${String(i).padStart(3, '0')}.${ext}`;
    const rel = layout === 'folder' ? path.join(r.cls, name) : layout === 'yolo' ? path.join('images', name) : path.join('images', name);
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let img = sharp(r.raw, { raw: { width: r.width, height: r.height, channels: r.channels } });
    if (r.gray) img = img.toColourspace('b-w');
    await (ext === 'png' ? img.png() : img.jpeg({ quality: 92 })).toFile(file);
    images.push({ file: rel, cls: r.cls, width: r.width, height: r.height, box: r.box, gray: r.gray });
    const f = (v: number) => String(Math.round(v * 100) / 100);
    rows.push([rel, r.cls, ...r.box.map(f)].join(','));
    if (o.extraBoxes && i % 4 === 1) rows.push([rel, GLYPH_CLASSES[(i + 1) % GLYPH_CLASSES.length], '0', '0', '3', '2'].join(','));
    if (layout === 'yolo') {
      const [x, y, w, h] = r.box;
      const id = GLYPH_CLASSES.indexOf(r.cls);
      fs.mkdirSync(path.join(dir, 'labels'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'labels', name.replace(/\.\w+$/, '.txt')), `${id} ${(x + w / 2) / r.width} ${(y + h / 2) / r.height} ${w / r.width} ${h / r.height}\n`);
    }
  }
  if (layout === 'yolo') fs.writeFileSync(path.join(dir, 'classes.txt'), `${GLYPH_CLASSES.join('\n')}\n`);
  if (layout !== 'csv') return { dir, images };
  const ann = path.join(dir, 'annotations.csv');
  fs.writeFileSync(ann, `${rows.join('\n')}\n`);
  return { dir, ann, images };
}

/** Overwrites every image with zeros of the same length and restores its mtime: a decoder would fail, a stat() sees no change. */
export function blankImagesKeepingStats(dir: string, files: string[]): void {
  for (const rel of files) {
    const f = path.join(dir, rel);
    const st = fs.statSync(f);
    fs.writeFileSync(f, Buffer.alloc(st.size));
    fs.utimesSync(f, st.atime, new Date(Math.round(st.mtimeMs)));
  }
}
