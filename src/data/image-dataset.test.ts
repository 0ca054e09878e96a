// Datasets from disk with the real decoder (sharp) on files written here: layouts, pixels, boxes
// through the resize, normalisation, the decoded cache, and messages naming file and line.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { blankImagesKeepingStats, writeImageSet } from '../../test/support/image-data.js';
import { parseTrainConfig } from '../train/config.js';
import { checkDecodedFits, decodedBytesLimit, loadImageDataset, type ImageDatasetOptions } from './image-dataset.js';
import { diskDatasets } from './disk-datasets.js';
import { resizeGeometry } from './image-decode.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-images-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = { log: () => undefined };

async function solid(file: string, w: number, h: number, rgb: number[]): Promise<void> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const c = rgb.length as 1 | 3;
  const raw = Buffer.alloc(w * h * c);
  for (let i = 0; i < w * h; i++) for (let k = 0; k < c; k++) raw[i * c + k] = rgb[k];
  let img = sharp(raw, { raw: { width: w, height: h, channels: c } });
  if (c === 1) img = img.toColourspace('b-w');
  await (file.endsWith('.png') ? img.png() : img.jpeg({ quality: 100 })).toFile(file);
}

const load = (o: Partial<ImageDatasetOptions> & { path: string }) => loadImageDataset({ size: 32, cacheDir: path.join(tmp, 'cache'), ...quiet, ...o });

describe('datasets from disk', () => {
  it('images + CSV: PNG and JPEG, RGB and grey mixed → RGB CHW; boxes follow the resize; the largest box of an image is used', async () => {
    const w = await writeImageSet(path.join(tmp, 'csv'), { n: 12, extraBoxes: true });
    const notes: string[] = [];
    for (const resize of ['stretch', 'letterbox'] as const) {
      const d = await load({ path: w.dir, ann: w.ann, resize, log: (m) => notes.push(m) });
      expect([d.task, d.channels, d.dataset.length, d.size]).toEqual(['detection', 3, 12, 32]);
      const named = fs.readFileSync(w.ann!, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[1]);
      expect(d.classes).toEqual([...new Set(named)].sort()); // classes of the extra boxes too
      const box = d.dataset.columns.box.data as Float32Array, label = d.dataset.columns.label.data as BigInt64Array;
      w.images.forEach((im, i) => {
        const g = resizeGeometry(im.width, im.height, 32, resize);
        const [x, y, bw, bh] = im.box.map((v) => Math.round(v * 100) / 100); // as written to the CSV
        const want = [((x + bw / 2) * g.sx + g.ox) / 32, ((y + bh / 2) * g.sy + g.oy) / 32, (bw * g.sx) / 32, (bh * g.sy) / 32];
        want.forEach((v, k) => expect(box[4 * i + k]).toBeCloseTo(v, 6));
        expect(d.classes[Number(label[i])]).toBe(im.cls); // the glyph's box, not the small extra one
      });
    }
    expect(notes.some((n) => /3 images have several boxes; .*the largest/.test(n))).toBe(true);
    expect(notes.some((n) => /^Data: 12 images from .* \(detection, \d+ classes: .*\), 32×32 RGB \(letterbox\); decoded in/.test(n))).toBe(true);
  });

  it('class folders: exact pixels in CHW order, per-channel mean/std, grey-only data gets 1 channel', async () => {
    const root = path.join(tmp, 'folders');
    await solid(path.join(root, 'b', 'x.png'), 20, 10, [200, 100, 50]);
    await solid(path.join(root, 'a', 'y.jpg'), 9, 15, [77]);
    const d = await load({ path: root, size: 8, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.1] });
    expect([d.task, d.classes, d.channels, d.files]).toEqual(['classification', ['a', 'b'], 3, ['a/y.jpg', 'b/x.png']]);
    const px = d.dataset.columns.image.data as Uint8Array;
    expect([...new Set(px.subarray(0, 192))]).toEqual([77]); // grey JPEG → R = G = B
    expect([0, 64, 128].map((o) => [...new Set(px.subarray(192 + o, 192 + o + 64))])).toEqual([[200], [100], [50]]);
    const img = d.dataset.getBatch([1]).image.data as Float32Array;
    expect([img[0], img[64], img[128]].map((v) => +v.toFixed(5))).toEqual([(200 / 255 - 0.5) / 0.25, (100 / 255 - 0.4) / 0.2, (50 / 255 - 0.3) / 0.1].map((v) => +Math.fround(v).toFixed(5)));
    expect(Array.from(d.dataset.getBatch([0, 1]).label.data as BigInt64Array)).toEqual([0n, 1n]);
    const grey = await writeImageSet(path.join(tmp, 'grey'), { n: 4, allGray: true });
    expect((await load({ path: grey.dir, ann: grey.ann })).channels).toBe(1);
    expect((await load({ path: grey.dir, ann: grey.ann, channels: 3 })).channels).toBe(3);
  });

  it('train/val folders and a CSV split column give the split; YOLO txt labels', async () => {
    const root = path.join(tmp, 'split');
    for (const [s, c, n] of [['train', 'cat', 3], ['train', 'dog', 2], ['val', 'cat', 1], ['val', 'dog', 1]] as const) {
      for (let i = 0; i < n; i++) await solid(path.join(root, s, c, `${i}.png`), 8, 8, [i * 40]);
    }
    const r = await diskDatasets({ path: root, size: 8, cacheDir: null, ...quiet });
    expect([r.data.classes, r.train.length, r.val?.length]).toEqual([['cat', 'dog'], 5, 2]);
    const y = await writeImageSet(path.join(tmp, 'yolo'), { n: 6, layout: 'yolo' });
    const d = await load({ path: y.dir });
    expect([d.task, d.dataset.length, d.classes.length]).toEqual(['detection', 6, 12]);
    const g = resizeGeometry(y.images[1].width, y.images[1].height, 32, 'stretch');
    expect((d.dataset.columns.box.data as Float32Array)[6]).toBeCloseTo((y.images[1].box[2] * g.sx) / 32, 5);
  });

  it('decodes once: later loads read the cache, not the images; a changed image is decoded again', async () => {
    const w = await writeImageSet(path.join(tmp, 'cached'), { n: 8 });
    const opts = { path: w.dir, ann: w.ann, cacheDir: path.join(tmp, 'cache2') };
    const first = await load(opts);
    expect(first.cache).toMatchObject({ hit: false, decoded: 8 });
    const second = await load(opts);
    expect(second.cache).toMatchObject({ hit: true, decoded: 0 });
    expect(Buffer.from(second.dataset.columns.image.data as Uint8Array).equals(Buffer.from(first.dataset.columns.image.data as Uint8Array))).toBe(true);
    const img0 = path.join(w.dir, w.images[0].file);
    fs.copyFileSync(path.join(w.dir, w.images[2].file), img0); // another valid PNG, new mtime
    const changed = await load(opts);
    expect(changed.cache).toMatchObject({ hit: false, decoded: 8, reason: 'files changed since it was built' });
    blankImagesKeepingStats(w.dir, w.images.map((i) => i.file)); // unreadable now, same size and mtime
    const blind = await load(opts);
    expect(blind.cache).toMatchObject({ hit: true, decoded: 0 });
    expect(Buffer.from(blind.dataset.columns.image.data as Uint8Array).equals(Buffer.from(changed.dataset.columns.image.data as Uint8Array))).toBe(true);
    await expect(load({ ...opts, cacheDir: null })).rejects.toThrow(/img_000\.png is not a readable image/);
  });

  it('bad data: messages name the file and line', async () => {
    const root = path.join(tmp, 'bad');
    await solid(path.join(root, 'a.png'), 40, 30, [10, 20, 30]);
    fs.writeFileSync(path.join(root, 'broken.png'), 'not a png at all');
    fs.writeFileSync(path.join(root, 'classes.txt'), 'cat\ndog\n');
    const csv = (name: string, rows: string[]) => { const f = path.join(root, name); fs.writeFileSync(f, `${rows.join('\n')}\n`); return f; };
    const bad = csv('bad.csv', ['filename,class,x,y,w,h', 'a.png,cat,1,1,10,10', 'missing.png,cat,1,1,5,5', 'a.png,bird,1,1,5,5', 'a.png,dog,30,20,15,5', 'a.png,dog,1,x,5,5', 'a.png,dog,1,1,0,5']);
    const msg = await load({ path: root, ann: bad }).then(() => '', (e: Error) => e.message);
    expect(msg).toMatch(/^bad data in .*bad\.csv \(5 problems\):/);
    expect(msg).toMatch(/bad\.csv line 3: image missing\.png not found \(looked for /);
    expect(msg).toMatch(/bad\.csv line 4: unknown class "bird" \(.*classes\.txt lists cat, dog\)/);
    expect(msg).toMatch(/bad\.csv line 5: box \(30, 20, 45, 25\) as x1,y1,x2,y2 in pixels reaches outside the 40×30 image a\.png/);
    expect(msg).toMatch(/bad\.csv line 6: box value "x" is not a number/);
    expect(msg).toMatch(/bad\.csv line 7: box has no area \(w=0, h=5\)/);
    const unreadable = csv('unreadable.csv', ['file,label,x1,y1,x2,y2', 'a.png,cat,1,1,9,9', 'broken.png,dog,1,1,5,5']);
    await expect(load({ path: root, ann: unreadable })).rejects.toThrow(/unreadable\.csv line 3: broken\.png is not a readable image/);
    await expect(load({ path: root, ann: csv('header.csv', ['a.png,cat,1,1,9,9']) })).rejects.toThrow(/header\.csv line 1: the first line must be a header naming the columns, e\.g\. "filename,class,x,y,w,h"/);
    await expect(load({ path: root, ann: csv('quote.csv', ['filename,class', 'a.png,cat', '"b.png,dog']) })).rejects.toThrow(/quote\.csv: not a readable CSV file: Quote Not Closed.*line 3/);
    await expect(load({ path: root, ann: 'nope.csv' })).rejects.toThrow(/annotation file nope\.csv not found/);
    await expect(load({ path: path.join(root, 'none') })).rejects.toThrow(/data folder .*none does not exist/);
    fs.mkdirSync(path.join(root, 'cls', 'x'), { recursive: true });
    fs.copyFileSync(path.join(root, 'broken.png'), path.join(root, 'cls', 'x', 'b.png'));
    await expect(load({ path: path.join(root, 'cls') })).rejects.toThrow(/cls\/x\/b\.png: x\/b\.png is not a readable image/);
  });

  it('data.size: images that would not fit in memory decoded fail before any is read, naming the size that fits', () => {
    expect(() => checkDecodedFits(40, 3, 1024, 64e9)).not.toThrow();
    expect(() => checkDecodedFits(50_000, 3, 1024, 64e9)).toThrow(
      "data.size 1024: 50000 RGB images of 1024×1024 take 157.3 GB decoded, more than the 64.0 GB they may use here (half of this machine's memory); use --img-size 653 or less (data.size), or fewer images");
    expect(() => checkDecodedFits(10_000_000, 1, 64, 1e8)).toThrow(/use fewer images \(or a machine with more memory\)$/);
    expect(decodedBytesLimit()).toBeLessThanOrEqual(os.totalmem() / 2);
    expect(() => parseTrainConfig({ epochs: 1, lr: 1, data: { path: 'imgs', size: 4096 } })).toThrow(/data\.size: images are resized to at most 1024×1024 pixels \(--img-size 1024 or less\)/);
    expect(() => parseTrainConfig({ epochs: 1, lr: 1, data: { name: './mine.ts#shapes', size: 4 } })).toThrow(/data\.size: images are at least 8×8 pixels/);
  });
});
