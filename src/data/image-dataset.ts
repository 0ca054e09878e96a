// Datasets from disk: a folder of class sub-folders, images + an annotation CSV, or the YOLO txt
// layout → a TensorDataset of uint8 CHW pixels (normalised per channel when batched), int64
// labels and, for detection, one float32 (cx, cy, w, h) box per image in [0, 1].
// Decoding happens once: later loads of the same, unchanged data read the cache (image-cache.ts).
//
// The built-in detector predicts one box per image, so an image with several boxes uses its
// largest (by area; the first on ties), and that box's class is the image's label.
import { constants } from 'node:buffer';
import os from 'node:os';
import path from 'node:path';
import { TensorDataset, type Column } from './dataset.js';
import { DataError, Problems } from './errors.js';
import { csvSource } from './annotations-csv.js';
import { decodeInto, decoderVersion, imageInfo, resizeGeometry, type ImageInfo, type ResizeMode } from './image-decode.js';
import { cacheFile, defaultCacheDir, inputsFingerprint, readCache, writeCache, type CacheHeader, type CacheLookup, type InputStat } from './image-cache.js';
import { folderSource, mapLimit, shown, statOrNull, yoloSource, type RawBox, type Source } from './image-sources.js';

export type ImageFormat = 'auto' | 'folder' | 'csv' | 'yolo';

export interface ImageDatasetOptions {
  /** The data folder (`--data`). */
  path: string;
  /** Annotation CSV (`--ann`): tried as given (from the working directory), then inside the data folder. */
  ann?: string;
  /** Layout; 'auto': csv with `ann`, yolo when the folder has images/ and labels/, else class folders. */
  format?: ImageFormat;
  /** Images are resized to size × size. */
  size: number;
  /** 'auto' (default): 1 when every image is stored grayscale, else 3 (RGB). */
  channels?: 'auto' | 1 | 3;
  resize?: ResizeMode;
  /** Per-channel mean and std of pixels in [0, 1] (batched value = (v / 255 − mean) / std); default 0 and 1. */
  mean?: number[];
  std?: number[];
  /** Class names in label order; default: sorted names found in the data (or its classes.txt). */
  classes?: string[];
  /** Decoded-image cache folder (default {@link defaultCacheDir}); null: decode on every load. */
  cacheDir?: string | null;
  /** Progress and notes. */
  log?: (message: string) => void;
}

export interface ImageData {
  /** Columns `image` (uint8 [C, S, S], float32 when batched), `label` (int64), `box` (detection). */
  dataset: TensorDataset;
  task: 'classification' | 'detection';
  classes: string[];
  channels: 1 | 3;
  size: number;
  /** Per sample: its image file, as the source names it. */
  files: string[];
  /** Per sample train/val when the data says (train/val folders, a CSV split column), else null. */
  splits: ('train' | 'val' | null)[] | null;
  /** What the data is (for configs, runs and checkpoints): folder, annotations, classes, a fingerprint of the files. */
  identity: { kind: Source['kind']; root: string; ann: string | null; classes: string[]; n: number; size: number; channels: number; files: string };
  /** `seconds`: the whole load; `decodeSeconds`: reading and decoding the images (0 on a cache hit). */
  cache: { file: string | null; hit: boolean; decoded: number; seconds: number; decodeSeconds: number; reason?: string };
}

type Decoded = Pick<CacheHeader, 'channels' | 'labels' | 'boxes'> & { pixels: Uint8Array };

async function resolveAnn(ann: string, root: string): Promise<string> {
  const tries = path.isAbsolute(ann) ? [ann] : [...new Set([path.resolve(ann), path.join(root, ann)])];
  for (const t of tries) if ((await statOrNull(t))?.isDir === false) return t;
  throw new DataError(`annotation file ${ann} not found (looked for ${tries.map(shown).join(' and ')}); --ann / data.ann names a CSV with a header such as filename,class,x,y,w,h`);
}

async function readSource(o: ImageDatasetOptions, root: string, problems: Problems): Promise<Source> {
  const st = await statOrNull(root);
  if (!st?.isDir) throw new DataError(`data folder ${shown(root)} ${st ? 'is a file' : 'does not exist'}: --data / data.path names a folder of images`);
  const ann = o.ann ? await resolveAnn(o.ann, root) : null;
  let kind = o.format ?? 'auto';
  if (kind === 'auto') kind = ann ? 'csv' : (await statOrNull(path.join(root, 'labels')))?.isDir && (await statOrNull(path.join(root, 'images')))?.isDir ? 'yolo' : 'folder';
  if (kind === 'csv') {
    if (!ann) throw new DataError('data.format "csv" needs the annotation file: --ann FILE (data.ann)');
    return csvSource(root, ann, o.classes, problems);
  }
  return kind === 'yolo' ? yoloSource(root, o.classes, problems) : folderSource(root, o.classes, problems);
}

/** The box an image uses (its largest), clipped to the image; out-of-image boxes are problems. */
function pickBox(boxes: RawBox[], info: ImageInfo, rel: string, problems: Problems): RawBox | null {
  let best: RawBox | null = null, bestArea = -1;
  const { width: w, height: h } = info;
  for (const b of boxes) {
    const [x0, y0, x1, y1] = b.normalized ? [b.x0 * w, b.y0 * h, b.x1 * w, b.y1 * h] : [b.x0, b.y0, b.x1, b.y1];
    const tol = 1; // a pixel of slack for annotation tools that round outward
    if (x0 < -tol || y0 < -tol || x1 > w + tol || y1 > h + tol) {
      const fmt = (v: number) => String(Math.round(v * 100) / 100);
      problems.add(b.at.file, b.at.line, `box (${[x0, y0, x1, y1].map(fmt).join(', ')}) as x1,y1,x2,y2 in pixels reaches outside the ${w}×${h} image ${rel}`);
      continue;
    }
    const c = { ...b, x0: Math.max(0, x0), y0: Math.max(0, y0), x1: Math.min(w, x1), y1: Math.min(h, y1), normalized: false };
    const area = (c.x1 - c.x0) * (c.y1 - c.y0);
    if (area > bestArea) { best = c; bestArea = area; }
  }
  return best;
}

interface Inspected { infos: (ImageInfo | Error)[]; labels: number[]; boxes: number[] }

/** Reads every image's header: unreadable files, boxes outside their image; labels and resized boxes. */
async function inspect(src: Source, o: ImageDatasetOptions, resize: ResizeMode, problems: Problems): Promise<Inspected> {
  const infos = await mapLimit(src.items, 16, (it) => imageInfo(it.file).catch((e: Error) => e));
  const labels: number[] = [], boxes: number[] = [];
  let several = 0;
  src.items.forEach((it, i) => {
    const info = infos[i];
    if (info instanceof Error) { problems.add(it.at.file, it.at.line, `${it.rel} is not a readable image (${info.message})`); return; }
    if (src.task === 'classification') { labels.push(it.label); return; }
    const b = pickBox(it.boxes, info, it.rel, problems);
    if (!b) return;
    if (it.boxes.length > 1) several++;
    const g = resizeGeometry(info.width, info.height, o.size, resize);
    const [x0, y0, x1, y1] = [(b.x0 * g.sx + g.ox) / o.size, (b.y0 * g.sy + g.oy) / o.size, (b.x1 * g.sx + g.ox) / o.size, (b.y1 * g.sy + g.oy) / o.size];
    labels.push(b.label);
    boxes.push((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0);
  });
  if (several && !problems.count) o.log?.(`${several} image${several > 1 ? 's have' : ' has'} several boxes; the built-in detector learns one box per image: the largest (its class is the image's label)`);
  return { infos, labels, boxes };
}

async function decodeAll(src: Source, o: ImageDatasetOptions, resize: ResizeMode, problems: Problems, summary: string): Promise<Decoded> {
  const { infos, labels, boxes } = await inspect(src, o, resize, problems);
  problems.check(summary);
  const oks = infos as ImageInfo[];
  const channels = o.channels === 1 || o.channels === 3 ? o.channels : oks.every((i) => i.grayscale) ? 1 : 3;
  checkDecodedFits(src.items.length, channels, o.size);
  const per = channels * o.size * o.size;
  const pixels = new Uint8Array(src.items.length * per);
  let done = 0, lastLog = performance.now();
  await mapLimit(src.items, Math.max(2, Math.min(8, os.availableParallelism())), async (it, i) => { // libvips decodes on libuv's threads
    try {
      await decodeInto(it.file, oks[i], { size: o.size, channels, resize }, pixels, i * per);
    } catch (e) {
      problems.add(it.at.file, it.at.line, `${it.rel} could not be decoded (${(e as Error).message})`);
    }
    done++;
    if (performance.now() - lastLog > 10_000) { lastLog = performance.now(); o.log?.(`Decoding images: ${done}/${src.items.length}`); }
  });
  problems.check(summary);
  return { channels, labels, boxes: src.task === 'detection' ? boxes : null, pixels };
}

/** Bytes the decoded images may take: half of this machine's memory, and no more than one typed array holds. */
export function decodedBytesLimit(): number {
  return Math.min(constants.MAX_LENGTH, os.totalmem() / 2);
}

/** `n` images of `channels` × `size`² bytes that would not fit `limit`: an error naming the sizes and the data.size that fits. */
export function checkDecodedFits(n: number, channels: number, size: number, limit = decodedBytesLimit()): void {
  const bytes = n * channels * size * size;
  if (bytes <= limit) return;
  const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
  const fits = Math.floor(Math.sqrt(limit / (n * channels)));
  const fix = fits >= 8 ? `use --img-size ${fits} or less (data.size), or fewer images` : 'use fewer images (or a machine with more memory)';
  throw new DataError(`data.size ${size}: ${n} ${channels === 1 ? 'grayscale' : 'RGB'} images of ${size}×${size} take ${gb(bytes)} decoded, more than the ${gb(limit)} they may use here (half of this machine's memory); ${fix}`);
}

/** uint8 → float32 as (v / 255 − mean) / std per channel; plain v / 255 without mean/std. */
function normalisation(o: ImageDatasetOptions, channels: number): NonNullable<Column['transform']> {
  if (!o.mean && !o.std) return { dtype: 'float32', scale: 1 / 255 };
  const per = (v: number[] | undefined, dflt: number, what: string): number[] => {
    if (!v) return new Array<number>(channels).fill(dflt);
    if (v.length === 1) return new Array<number>(channels).fill(v[0]);
    if (v.length !== channels) throw new DataError(`data.${what} has ${v.length} values for ${channels}-channel images: give 1 value or ${channels}`);
    return v;
  };
  const mean = per(o.mean, 0, 'mean'), std = per(o.std, 1, 'std');
  return { dtype: 'float32', scale: std.map((s) => 1 / (255 * s)), shift: mean.map((m, i) => -m / std[i]) };
}

/** [file, size, mtime] of the annotation files and every image: what the cache must match. */
async function inputStats(src: Source): Promise<InputStat[]> {
  const texts = await Promise.all(src.textFiles.map(async (f): Promise<InputStat> => {
    const s = await statOrNull(f);
    if (!s) throw new DataError(`${shown(f)} disappeared while the data was read`);
    return [f, s.size, s.mtimeMs];
  }));
  return [...texts, ...src.items.map((i): InputStat => [i.file, i.size, i.mtimeMs])];
}

interface Pixels { d: Decoded; inputs: InputStat[]; file: string | null; hit: boolean; reason?: string; decodeSeconds: number }

/** The decoded samples: from the cache when it matches, else decoded now (and cached). */
async function cachedOrDecoded(src: Source, o: ImageDatasetOptions, resize: ResizeMode, problems: Problems, summary: string): Promise<Pixels> {
  // Not in the identity: the decoder's version. A cache stays valid across sharp upgrades, so a run
  // resumed with its cache sees the very pixels it started with (and a hit never loads libvips).
  const identity = { kind: src.kind, root: src.root, ann: src.ann, size: o.size, channels: o.channels ?? 'auto', resize, classes: o.classes ?? null };
  const inputs = await inputStats(src);
  const dir = o.cacheDir === undefined ? defaultCacheDir() : o.cacheDir;
  const file = dir ? cacheFile(path.resolve(dir), identity, src.root) : null;
  const found: CacheLookup = file ? await readCache(file, identity, inputs) : { hit: false, reason: 'no cache (data.cacheDir null)' };
  if (found.hit && found.header.n === src.items.length) {
    const h = found.header;
    return { d: { channels: h.channels, labels: h.labels, boxes: h.boxes, pixels: found.pixels }, inputs, file, hit: true, decodeSeconds: 0 };
  }
  const t0 = performance.now();
  const d = await decodeAll(src, o, resize, problems, summary);
  const decodeSeconds = (performance.now() - t0) / 1000;
  if (file) {
    const header = {
      format: 'drivetrain-image-cache' as const, version: 1 as const, identity, decoder: await decoderVersion(), inputs, task: src.task, n: src.items.length,
      channels: d.channels, size: o.size, classes: src.classes, files: src.items.map((i) => i.rel), labels: d.labels, splits: splitsOf(src), boxes: d.boxes,
    };
    await writeCache(file, header, d.pixels).catch((e: Error) => o.log?.(`Could not write the decoded-image cache ${file} (${e.message}); the next run decodes again`));
  }
  return { d, inputs, file, hit: false, reason: 'reason' in found ? found.reason : 'sample count differs', decodeSeconds };
}

export async function loadImageDataset(o: ImageDatasetOptions): Promise<ImageData> {
  const t0 = performance.now();
  const root = path.resolve(o.path);
  const resize = o.resize ?? 'stretch';
  const problems = new Problems();
  const src = await readSource(o, root, problems);
  const summary = `bad data in ${shown(src.ann ?? root)}`;
  if (problems.count) await inspect(src, o, resize, problems); // report unreadable images and boxes outside them too
  problems.check(summary);
  for (const n of src.notes) o.log?.(n);
  if (!src.items.length) throw new DataError(`${shown(src.ann ?? root)}: no usable images`);
  checkDecodedFits(src.items.length, o.channels === 3 ? 3 : 1, o.size); // before reading any image header (the channels are a lower bound here)
  const { d, inputs, file, hit, reason, decodeSeconds } = await cachedOrDecoded(src, o, resize, problems, summary);
  const n = src.items.length;
  const columns: Record<string, Column> = {
    image: { dtype: 'uint8', shape: [d.channels, o.size, o.size], data: d.pixels, transform: normalisation(o, d.channels) },
    label: { dtype: 'int64', shape: [], data: BigInt64Array.from(d.labels, (v) => BigInt(v)) },
  };
  if (d.boxes) columns.box = { dtype: 'float32', shape: [4], data: Float32Array.from(d.boxes) };
  const out: ImageData = {
    dataset: new TensorDataset(columns), task: src.task, classes: src.classes, channels: d.channels, size: o.size,
    files: src.items.map((i) => i.rel), splits: splitsOf(src),
    identity: { kind: src.kind, root, ann: src.ann, classes: src.classes, n, size: o.size, channels: d.channels, files: inputsFingerprint(inputs) },
    cache: { file, hit, decoded: hit ? 0 : n, seconds: (performance.now() - t0) / 1000, decodeSeconds, reason },
  };
  o.log?.(describe(out, resize));
  return out;
}

function splitsOf(src: Source): ('train' | 'val' | null)[] | null {
  return src.items.some((i) => i.split) ? src.items.map((i) => i.split ?? null) : null;
}

function describe(d: ImageData, resize: ResizeMode): string {
  const cls = `${d.classes.length} class${d.classes.length > 1 ? 'es' : ''}: ${d.classes.slice(0, 6).join(', ')}${d.classes.length > 6 ? ', …' : ''}`;
  const from = d.identity.ann ? `${shown(d.identity.root)} + ${shown(d.identity.ann)}` : shown(d.identity.root);
  const how = d.cache.hit ? `read from the decoded cache ${shown(d.cache.file!)} in ${d.cache.seconds.toFixed(2)} s`
    : `decoded in ${d.cache.seconds.toFixed(1)} s (${Math.round(d.identity.n / Math.max(d.cache.decodeSeconds, 1e-3))} images/s)${d.cache.file ? ` into the cache ${shown(d.cache.file)}` : ''}`;
  const stale = !d.cache.hit && d.cache.file && d.cache.reason !== 'no cache yet' ? ` (the cache there was not used: ${d.cache.reason})` : '';
  return `Data: ${d.identity.n} images from ${from} (${d.task}, ${cls}), ${d.size}×${d.size} ${d.channels === 1 ? 'grayscale' : 'RGB'} (${resize}); ${how}${stale}`;
}
