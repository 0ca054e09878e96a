// The decoded-image cache: one file per dataset identity (folder, annotation file, image size,
// channels, resize mode, class list), holding every sample's uint8 CHW pixels plus labels,
// boxes and class names. It is valid while every input file keeps its size and mtime, so later
// runs, stages and resumes read one file instead of decoding every image again.
//
// Layout: 8-byte magic "DTIMGC\0\1", uint32 LE header length, the header as JSON, zero padding
// to a multiple of 8, then the pixels (n × channels × size × size bytes, sha256 in the header).
// Written to a temporary name and renamed, so a reader never sees a half-written file.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const MAGIC = Buffer.from('DTIMGC\x00\x01', 'latin1');
const CHUNK = 64 << 20;

/** [file, size, mtimeMs] of every file the dataset was built from. */
export type InputStat = [string, number, number];

export interface CacheHeader {
  format: 'drivetrain-image-cache';
  version: 1;
  identity: Record<string, unknown>;
  /** sharp and libvips versions that decoded the pixels (information only). */
  decoder: string;
  inputs: InputStat[];
  task: 'classification' | 'detection';
  n: number;
  channels: 1 | 3;
  size: number;
  classes: string[];
  /** Per sample: its file (as the source names it), class index, split, [cx, cy, w, h] box. */
  files: string[];
  labels: number[];
  splits: ('train' | 'val' | null)[] | null;
  boxes: number[] | null;
  payload: { bytes: number; sha256: string };
}

/** The default cache folder: $DRIVETRAIN_CACHE_DIR, else $XDG_CACHE_HOME/drivetrain/images, else ~/.cache/drivetrain/images. */
export function defaultCacheDir(): string {
  if (process.env.DRIVETRAIN_CACHE_DIR) return process.env.DRIVETRAIN_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'drivetrain', 'images');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The cache file of a dataset identity: `<dir>/<folder name>-<16 hex>.dtimg`. */
export function cacheFile(dir: string, identity: Record<string, unknown>, root: string): string {
  const key = crypto.createHash('sha256').update(canonical(identity)).digest('hex').slice(0, 16);
  const name = path.basename(root).replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 40) || 'data';
  return path.join(dir, `${name}-${key}.dtimg`);
}

/** sha256 of the inputs' stats: a short fingerprint of the dataset's files (for the config hash). */
export function inputsFingerprint(inputs: InputStat[]): string {
  return crypto.createHash('sha256').update(canonical(inputs)).digest('hex').slice(0, 16);
}

export type CacheLookup = { hit: true; header: CacheHeader; pixels: Uint8Array } | { hit: false; reason: string };

/** Reads `file` when it was built from the same identity and unchanged inputs. */
export async function readCache(file: string, identity: Record<string, unknown>, inputs: InputStat[]): Promise<CacheLookup> {
  let fh: fs.FileHandle;
  try { fh = await fs.open(file, 'r'); } catch { return { hit: false, reason: 'no cache yet' }; }
  try {
    const head = Buffer.alloc(12);
    await fh.read(head, 0, 12, 0);
    if (!head.subarray(0, 8).equals(MAGIC)) return { hit: false, reason: 'not a cache file of this version' };
    const len = head.readUInt32LE(8);
    const hb = Buffer.alloc(len);
    if ((await fh.read(hb, 0, len, 12)).bytesRead !== len) return { hit: false, reason: 'truncated header' };
    const header = JSON.parse(hb.toString('utf8')) as CacheHeader;
    if (canonical(header.identity) !== canonical(identity)) return { hit: false, reason: 'built with other options' };
    if (canonical(header.inputs) !== canonical(inputs)) return { hit: false, reason: 'files changed since it was built' };
    const start = Math.ceil((12 + len) / 8) * 8;
    const pixels = new Uint8Array(header.payload.bytes);
    const hash = crypto.createHash('sha256');
    for (let off = 0; off < pixels.length; off += CHUNK) {
      const view = pixels.subarray(off, Math.min(pixels.length, off + CHUNK));
      const { bytesRead } = await fh.read(view, 0, view.length, start + off);
      if (bytesRead !== view.length) return { hit: false, reason: 'truncated pixels' };
      hash.update(view);
    }
    if (hash.digest('hex') !== header.payload.sha256) return { hit: false, reason: 'pixels do not match their checksum' };
    return { hit: true, header, pixels };
  } catch (e) {
    return { hit: false, reason: `unreadable (${(e as Error).message})` };
  } finally {
    await fh.close();
  }
}

/** Writes the cache atomically; returns its size in bytes. */
export async function writeCache(file: string, header: Omit<CacheHeader, 'payload'>, pixels: Uint8Array): Promise<number> {
  const sha256 = crypto.createHash('sha256').update(pixels).digest('hex');
  const hb = Buffer.from(JSON.stringify({ ...header, payload: { bytes: pixels.length, sha256 } }), 'utf8');
  const pre = Buffer.alloc(Math.ceil((12 + hb.length) / 8) * 8);
  MAGIC.copy(pre, 0);
  pre.writeUInt32LE(hb.length, 8);
  hb.copy(pre, 12);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.write(pre, 0, pre.length, 0);
      for (let off = 0; off < pixels.length; off += CHUNK) {
        const view = pixels.subarray(off, Math.min(pixels.length, off + CHUNK));
        await fh.write(view, 0, view.length, pre.length + off);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  return pre.length + pixels.length;
}
