// What a dataset on disk holds, before any pixel is decoded: the image files, their classes and
// boxes, from one of three layouts — class sub-folders (classification), images + a CSV
// (annotations-csv.ts), or YOLO txt labels (images/ + labels/). Problems are collected with the
// file and line they are in; images are stat()ed here (existence, and the cache's identity).
import fs from 'node:fs/promises';
import path from 'node:path';
import { DataError, Problems } from './errors.js';

/** Where an image or box was named: a file and maybe a 1-based line, as shown in messages. */
export interface Where { file: string; line?: number }

/** A box as annotated: pixel corners, or YOLO-normalised corners in [0, 1]. */
export interface RawBox { x0: number; y0: number; x1: number; y1: number; normalized: boolean; label: number; at: Where }

export interface SourceItem {
  /** Absolute path of the image file. */
  file: string;
  /** Its name in messages and the cache (relative to the data folder when inside it). */
  rel: string;
  size: number;
  mtimeMs: number;
  /** Class index (classification); detection takes it from the box it uses. */
  label: number;
  boxes: RawBox[];
  /** Given by the data itself (train/val folders, a CSV split column). */
  split?: 'train' | 'val';
  at: Where;
}

export interface Source {
  kind: 'folder' | 'csv' | 'yolo';
  task: 'classification' | 'detection';
  root: string;
  ann: string | null;
  classes: string[];
  items: SourceItem[];
  /** Annotation and class-list files read: part of the dataset identity. */
  textFiles: string[];
  /** Things left out, said once at load. */
  notes: string[];
}

export const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;

/** `p` as the user sees it: relative to the working directory when inside it. */
export function shown(p: string): string {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

/** Code-point order (as Python's sorted()), numeric when every name is an integer. */
export function sortClassNames(names: Iterable<string>): string[] {
  const all = [...new Set(names)];
  if (all.every((n) => /^-?\d+$/.test(n))) return all.sort((a, b) => Number(a) - Number(b));
  return all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Size and mtime (whole milliseconds: what every file system and a restored mtime agree on). */
export async function statOrNull(p: string): Promise<{ size: number; mtimeMs: number; isDir: boolean } | null> {
  try {
    const s = await fs.stat(p);
    return { size: s.size, mtimeMs: Math.round(s.mtimeMs), isDir: s.isDirectory() };
  } catch {
    return null;
  }
}

/** Sorted entries of a folder; hidden ones and macOS zip leftovers (__MACOSX) left out. */
async function entries(dir: string): Promise<{ name: string; dir: boolean }[]> {
  const list = await fs.readdir(dir, { withFileTypes: true });
  return list.filter((e) => !e.name.startsWith('.') && e.name !== '__MACOSX').map((e) => ({ name: e.name, dir: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Image files under `dir`, recursively, in sorted order. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await entries(dir)) {
    const p = path.join(dir, e.name);
    if (e.dir) out.push(...(await listImages(p)));
    else if (IMAGE_EXT.test(e.name)) out.push(p);
  }
  return out;
}

/** A class-list file: one name per line (YOLO's classes.txt). */
export async function readClassList(file: string, problems: Problems): Promise<string[]> {
  const names: string[] = [];
  (await fs.readFile(file, 'utf8')).split(/\r?\n/).forEach((l, i) => {
    const n = l.trim();
    if (!n) return;
    if (names.includes(n)) problems.add(shown(file), i + 1, `class "${n}" is listed twice`);
    names.push(n);
  });
  if (!names.length) problems.add(shown(file), undefined, 'lists no class names (one per line)');
  return names;
}

/** Stats images in parallel (stat is all the cache needs to know a file is unchanged). */
export async function statItems<T extends { file: string }>(xs: T[], missing: (x: T) => void): Promise<(T & { size: number; mtimeMs: number })[]> {
  const out: (T & { size: number; mtimeMs: number })[] = [];
  const stats = await mapLimit(xs, 32, (x) => statOrNull(x.file));
  xs.forEach((x, i) => {
    const s = stats[i];
    if (!s || s.isDir) missing(x);
    else out.push({ ...x, size: s.size, mtimeMs: s.mtimeMs });
  });
  return out;
}

/** `f` over `xs` with at most `limit` in flight; results in order. */
export async function mapLimit<T, R>(xs: readonly T[], limit: number, f: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  const worker = async () => { while (next < xs.length) { const i = next++; out[i] = await f(xs[i], i); } };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

const SPLIT_DIRS: Record<string, 'train' | 'val'> = { train: 'train', val: 'val', valid: 'val', validation: 'val' };

/** Class sub-folders of `root` (or of root/train and root/val): folder name = class. */
export async function folderSource(root: string, classesOpt: string[] | undefined, problems: Problems): Promise<Source> {
  const top = await entries(root);
  const dirs = top.filter((e) => e.dir).map((e) => e.name);
  const splitMode = dirs.includes('train') && dirs.some((d) => SPLIT_DIRS[d] === 'val');
  const parts = splitMode ? dirs.filter((d) => SPLIT_DIRS[d]).map((d) => ({ dir: path.join(root, d), split: SPLIT_DIRS[d] })) : [{ dir: root, split: undefined }];
  const notes: string[] = [];
  const found: { cls: string; file: string; split?: 'train' | 'val' }[] = [];
  for (const part of parts) {
    const here = await entries(part.dir);
    const loose = here.filter((e) => !e.dir && IMAGE_EXT.test(e.name)).length;
    if (loose) notes.push(`${loose} image${loose > 1 ? 's' : ''} directly in ${shown(part.dir)} (not in a class folder) left out`);
    for (const e of here.filter((x) => x.dir)) {
      const files = await listImages(path.join(part.dir, e.name));
      if (!files.length) problems.add(shown(path.join(part.dir, e.name)), undefined, 'class folder with no images (png, jpg, jpeg, webp): add images or remove the folder');
      for (const file of files) found.push({ cls: e.name, file, split: part.split });
    }
  }
  if (!found.length && !problems.count) {
    throw new DataError(`${shown(root)}: no class folders with images found; for classification put each class's images in a sub-folder named after the class (${shown(root)}/cat/1.png, …), for detection give the annotation CSV (--ann)`);
  }
  const classes = classesOpt ?? sortClassNames(found.map((f) => f.cls));
  const index = new Map(classes.map((c, i) => [c, i]));
  for (const c of new Set(found.map((f) => f.cls))) {
    if (!index.has(c)) problems.add(shown(path.join(root, c)), undefined, `class folder "${c}" is not in data.classes (${classes.join(', ')})`);
  }
  const items = await statItems(found.filter((f) => index.has(f.cls)).map((f) => ({
    file: f.file, rel: path.relative(root, f.file), label: index.get(f.cls)!, boxes: [], split: f.split, at: { file: shown(f.file) },
  })), (x) => problems.add(x.at.file, undefined, 'disappeared while the folder was read'));
  return { kind: 'folder', task: 'classification', root, ann: null, classes, items, textFiles: [], notes };
}

/** YOLO layout: root/images/**.png|jpg and root/labels/<same path>.txt with `class cx cy w h` lines. */
export async function yoloSource(root: string, classesOpt: string[] | undefined, problems: Problems): Promise<Source> {
  const imagesDir = path.join(root, 'images'), labelsDir = path.join(root, 'labels');
  const classFile = path.join(root, 'classes.txt');
  const textFiles: string[] = [];
  let classes = classesOpt;
  if (!classes && (await statOrNull(classFile))) { classes = await readClassList(classFile, problems); textFiles.push(classFile); }
  const notes: string[] = [];
  let unlabeled = 0, maxId = -1;
  const found: Omit<SourceItem, 'size' | 'mtimeMs'>[] = [];
  for (const file of await listImages(imagesDir)) {
    const rel = path.relative(imagesDir, file);
    const labelFile = path.join(labelsDir, rel.replace(/\.[^.]+$/, '.txt'));
    const text = await fs.readFile(labelFile, 'utf8').catch(() => null);
    if (text === null) { unlabeled++; continue; }
    textFiles.push(labelFile);
    const boxes: RawBox[] = [];
    text.split(/\r?\n/).forEach((l, i) => {
      if (!l.trim()) return;
      const at = { file: shown(labelFile), line: i + 1 };
      const v = l.trim().split(/\s+/).map(Number);
      if (v.length !== 5 || v.some((x) => !Number.isFinite(x))) { problems.add(at.file, at.line, `expected 5 numbers "class cx cy w h" (normalised to 0..1), got "${l.trim()}"`); return; }
      const [id, cx, cy, w, h] = v;
      if (!Number.isInteger(id) || id < 0) { problems.add(at.file, at.line, `class id ${id} is not a whole number ≥ 0`); return; }
      if (classes && id >= classes.length) { problems.add(at.file, at.line, `unknown class id ${id} (${shown(classFile)} lists ${classes.length}: 0..${classes.length - 1})`); return; }
      maxId = Math.max(maxId, id);
      boxes.push({ x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2, normalized: true, label: id, at });
    });
    if (!boxes.length) { unlabeled++; continue; }
    const first = rel.split(path.sep)[0];
    found.push({ file, rel: path.join('images', rel), label: -1, boxes, split: SPLIT_DIRS[first], at: { file: shown(labelFile) } });
  }
  if (unlabeled) notes.push(`${unlabeled} image${unlabeled > 1 ? 's' : ''} without boxes in ${shown(labelsDir)} left out (the built-in detector needs one box per image)`);
  if (!found.length && !problems.count) throw new DataError(`${shown(root)}: no labelled images in the YOLO layout (images/*.png|jpg with labels/*.txt of "class cx cy w h" lines)`);
  classes ??= Array.from({ length: maxId + 1 }, (_, i) => String(i));
  const items = await statItems(found, (x) => problems.add(shown(x.file), undefined, 'disappeared while the folder was read'));
  return { kind: 'yolo', task: 'detection', root, ann: null, classes, items, textFiles, notes };
}
