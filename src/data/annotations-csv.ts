// Images + a CSV: a header line naming the columns, then one row per box (detection:
// filename,class,x,y,w,h or filename,class,x1,y1,x2,y2, in pixels) or per image (classification:
// filename,class). Optional `split` column (train/val). Several rows may name the same image.
// Filenames are relative to the data folder (or to the CSV's folder), or absolute.
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { DataError, Problems } from './errors.js';
import { mapLimit, readClassList, shown, sortClassNames, statOrNull, type RawBox, type Source, type SourceItem, type Where } from './image-sources.js';

const FILE_COLS = ['filename', 'file', 'file_name', 'image', 'image_path', 'image_name', 'img', 'path'];
const CLASS_COLS = ['class', 'label', 'class_name', 'category', 'cls'];
const SPLIT_COLS = ['split', 'subset'];
const XYWH = [['x', 'y', 'w', 'h'], ['x', 'y', 'width', 'height'], ['left', 'top', 'width', 'height'], ['xmin', 'ymin', 'width', 'height']];
const XYXY = [['x1', 'y1', 'x2', 'y2'], ['xmin', 'ymin', 'xmax', 'ymax'], ['x_min', 'y_min', 'x_max', 'y_max'], ['left', 'top', 'right', 'bottom']];
const SPLITS: Record<string, 'train' | 'val'> = { train: 'train', val: 'val', valid: 'val', validation: 'val' };

interface Columns { file: number; cls: number; split: number; box: { idx: number[]; kind: 'xywh' | 'xyxy' } | null; width: number }

function headerColumns(header: string[], at: string): Columns {
  const h = header.map((c) => c.trim().toLowerCase());
  const find = (names: string[]) => h.findIndex((c) => names.includes(c));
  const file = find(FILE_COLS), cls = find(CLASS_COLS);
  if (file < 0 || cls < 0) {
    throw new DataError(`${at} line 1: the first line must be a header naming the columns, e.g. "filename,class,x,y,w,h" (box in pixels; or x1,y1,x2,y2), or "filename,class" for classification; got "${header.join(',')}"`);
  }
  let box: Columns['box'] = null;
  for (const [kind, sets] of [['xywh', XYWH], ['xyxy', XYXY]] as const) {
    for (const set of sets) {
      const idx = set.map((n) => h.indexOf(n));
      if (!box && idx.every((i) => i >= 0)) box = { idx, kind };
    }
  }
  const boxy = ['x', 'y', 'w', 'h', 'x1', 'y1', 'x2', 'y2', 'xmin', 'ymin', 'xmax', 'ymax', 'width', 'height'].filter((n) => h.includes(n));
  if (!box && boxy.length) throw new DataError(`${at} line 1: box columns ${boxy.join(',')} are not a full set; use x,y,w,h (top-left corner and size in pixels) or x1,y1,x2,y2 (corners)`);
  return { file, cls, split: find(SPLIT_COLS), box, width: h.length };
}

interface Row { name: string; cls: string; box: number[] | null; split?: 'train' | 'val'; at: Where }

function readRows(text: string, at: string, problems: Problems): { cols: Columns; rows: Row[] } {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, skip_empty_lines: true, trim: true, relax_column_count: true, bom: true }) as unknown as typeof records;
  } catch (e) {
    throw new DataError(`${at}: not a readable CSV file: ${(e as Error).message}`);
  }
  if (!records.length) throw new DataError(`${at}: the file is empty; it needs a header line (filename,class,x,y,w,h) and one row per box`);
  const cols = headerColumns(records[0].record, at);
  const rows: Row[] = [];
  for (const { record: r, info } of records.slice(1)) {
    const where = { file: at, line: info.lines };
    if (r.length < cols.width) { problems.add(at, info.lines, `${r.length} fields, the header has ${cols.width}`); continue; }
    const name = r[cols.file], cls = r[cols.cls];
    if (!name) { problems.add(at, info.lines, 'empty filename'); continue; }
    if (!cls) { problems.add(at, info.lines, 'empty class'); continue; }
    let split: Row['split'];
    if (cols.split >= 0 && r[cols.split]) {
      split = SPLITS[r[cols.split].toLowerCase()];
      if (!split) { problems.add(at, info.lines, `split "${r[cols.split]}" is not train or val`); continue; }
    }
    let box: number[] | null = null;
    if (cols.box) {
      const v = cols.box.idx.map((i) => (r[i] === '' ? NaN : Number(r[i])));
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) { problems.add(at, info.lines, `box value "${r[cols.box.idx[bad]]}" is not a number`); continue; }
      box = cols.box.kind === 'xywh' ? [v[0], v[1], v[0] + v[2], v[1] + v[3]] : v;
      if (!(box[2] > box[0] && box[3] > box[1])) {
        problems.add(at, info.lines, cols.box.kind === 'xywh' ? `box has no area (w=${v[2]}, h=${v[3]}); w and h must be > 0` : `box has no area: x2 must be > x1 and y2 > y1 (got ${v.join(',')})`);
        continue;
      }
    }
    rows.push({ name, cls, box, split, at: where });
  }
  return { cols, rows };
}

/** Class index of `name`: by name, or by id when a class list is given and the value is an index. */
function classIndex(name: string, classes: string[]): number {
  const i = classes.indexOf(name);
  if (i >= 0) return i;
  return /^\d+$/.test(name) && Number(name) < classes.length ? Number(name) : -1;
}

export async function csvSource(root: string, ann: string, classesOpt: string[] | undefined, problems: Problems): Promise<Source> {
  const at = shown(ann);
  let text: string;
  try { text = await fs.readFile(ann, 'utf8'); } catch (e) { throw new DataError(`${at}: cannot read the annotation file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`); }
  const { cols, rows } = readRows(text, at, problems);
  const textFiles = [ann];
  let classes = classesOpt;
  let from = 'data.classes';
  for (const f of [...new Set([path.join(path.dirname(ann), 'classes.txt'), path.join(root, 'classes.txt')])]) {
    if (!classes && (await statOrNull(f))) { classes = await readClassList(f, problems); textFiles.push(f); from = shown(f); }
  }
  const listed = classes ? `${from} lists ${classes.slice(0, 8).join(', ')}${classes.length > 8 ? `, … (${classes.length})` : ''}` : '';
  classes ??= sortClassNames(rows.map((r) => r.cls));
  const byFile = new Map<string, Omit<SourceItem, 'size' | 'mtimeMs' | 'file'> & { name: string; candidates: string[] }>();
  for (const r of rows) {
    const label = classIndex(r.cls, classes);
    if (label < 0) { problems.add(at, r.at.line, `unknown class "${r.cls}" (${listed})`); continue; }
    let item = byFile.get(r.name);
    if (!item) {
      const candidates = path.isAbsolute(r.name) ? [r.name] : [...new Set([path.join(root, r.name), path.join(path.dirname(ann), r.name)])];
      item = { name: r.name, candidates, rel: r.name, label, boxes: [], split: r.split, at: r.at };
      byFile.set(r.name, item);
    } else if (!cols.box && item.label !== label) {
      problems.add(at, r.at.line, `image ${r.name} is class "${r.cls}" here and "${classes[item.label]}" on line ${item.at.line}; a classification CSV gives each image one class`);
    }
    if (r.split && item.split && r.split !== item.split) problems.add(at, r.at.line, `image ${r.name} is in split ${r.split} here and ${item.split} on line ${item.at.line}`);
    if (r.box) item.boxes.push({ x0: r.box[0], y0: r.box[1], x1: r.box[2], y1: r.box[3], normalized: false, label, at: r.at } satisfies RawBox);
  }
  const found = await mapLimit([...byFile.values()], 32, async (item) => {
    for (const c of item.candidates) {
      const st = await statOrNull(c);
      if (st && !st.isDir) return { ...item, file: c, size: st.size, mtimeMs: st.mtimeMs };
    }
    return null;
  });
  const items: SourceItem[] = [];
  [...byFile.values()].forEach((item, i) => {
    const f = found[i];
    if (!f) problems.add(at, item.at.line, `image ${item.rel} not found (looked for ${item.candidates.map(shown).join(' and ')})`);
    else items.push({ file: f.file, rel: f.rel, size: f.size, mtimeMs: f.mtimeMs, label: f.label, boxes: f.boxes, split: f.split, at: f.at });
  });
  if (!rows.length && !problems.count) throw new DataError(`${at}: no rows after the header`);
  return {
    kind: 'csv', task: cols.box ? 'detection' : 'classification', root, ann, classes,
    items, textFiles, notes: [],
  };
}
