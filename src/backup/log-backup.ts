// The run's metrics log (metrics.jsonl, one JSON line per step and epoch) on the store. It only
// grows, so it goes up as content-addressed blobs beside the checkpoints' ones: fixed 64 KiB
// chunks, and past the last chunk boundary one piece per backup holding what was appended since
// the previous one (cutLog); `<run>/metrics-log.json` lists the pieces and is written after them.
// Checkpoints keep only the ends of the per-epoch history (state.json stays constant-size); this
// log is where the rest lives, so a restore brings it back too.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { type Store, readFileFromStore } from '../storage/store.js';
import { blobPath, parseWith } from './format.js';

/** The log file in a run folder (src/train/metrics-log.ts writes it). */
export const LOG_FILE = 'metrics.jsonl';
export const LOG_POINTER_FILE = 'metrics-log.json';
export const LOG_POINTER_FORMAT = 'drivetrain-backup-log';
export const LOG_CHUNK_BYTES = 64 * 1024;

const sha = z.string().regex(/^[0-9a-f]{64}$/);
export const LogPointerSchema = z.object({
  format: z.literal(LOG_POINTER_FORMAT),
  version: z.literal(1),
  run: z.string(),
  updated: z.string(),
  /** bytes of complete lines backed up */
  size: z.number().int().nonnegative(),
  segments: z.array(z.object({ sha256: sha, size: z.number().int().positive() })),
  /** blobs of the previous pointer no longer listed: kept one more backup for readers of it */
  previous: z.array(sha).default([]),
});
export type LogPointer = z.output<typeof LogPointerSchema>;

export const logPointerPath = (run: string) => `${run}/${LOG_POINTER_FILE}`;

export interface LogPiece { sha256: string; bytes: Buffer }

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The log's complete lines cut into pieces: whole `chunkBytes` chunks up to the last boundary,
 * then the rest as the previous backup's pieces past that boundary (when the local bytes still
 * hash the same) plus one piece of what was appended since. So a backup uploads what was
 * appended, and a 64 KiB chunk once per 64 KiB of log. Null when there is no complete line.
 */
export async function cutLog(file: string, prev: LogPointer | null = null, chunkBytes = LOG_CHUNK_BYTES): Promise<{ size: number; pieces: LogPiece[] } | null> {
  const buf = await fsp.readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  const size = buf ? buf.lastIndexOf(10) + 1 : 0; // a line still being appended waits for the next backup
  if (!buf || size === 0) return null;
  const pieces: LogPiece[] = [];
  const full = Math.floor(size / chunkBytes) * chunkBytes;
  for (let o = 0; o < full; o += chunkBytes) {
    const bytes = buf.subarray(o, o + chunkBytes);
    pieces.push({ sha256: sha256(bytes), bytes });
  }
  let o = full;
  let off = 0;
  for (const s of prev?.segments ?? []) {
    if (off === o && off >= full && off + s.size <= size) {
      const bytes = buf.subarray(off, off + s.size);
      if (sha256(bytes) !== s.sha256) break; // the log was rewritten: one new piece for the rest
      pieces.push({ sha256: s.sha256, bytes });
      o += s.size;
    }
    off += s.size;
  }
  if (o < size) {
    const bytes = buf.subarray(o, size);
    pieces.push({ sha256: sha256(bytes), bytes });
  }
  return { size, pieces };
}

/** The run's log pointer; null when absent or unreadable (the next backup rewrites it). */
export async function readLogPointer(store: Store, run: string, warn: (m: string) => void = () => {}): Promise<LogPointer | null> {
  const p = logPointerPath(run);
  if (!(await store.stat(p))) return null;
  try {
    const text = (await readFileFromStore(store, p)).toString('utf8');
    return parseWith(LogPointerSchema, JSON.parse(text), `${store.description}/${p}`);
  } catch (e) {
    warn(`drivetrain: ignoring ${store.description}/${p}: ${(e as Error).message}`);
    return null;
  }
}

/** The pointer for `cut`, after `prev` (its blobs that `cut` no longer lists are kept as `previous`). */
export function nextPointer(run: string, cut: { size: number; pieces: LogPiece[] }, prev: LogPointer | null): LogPointer {
  const listed = new Set(cut.pieces.map((p) => p.sha256));
  const previous = [...new Set((prev?.segments ?? []).map((s) => s.sha256).filter((s) => !listed.has(s)))];
  return {
    format: LOG_POINTER_FORMAT, version: 1, run, updated: new Date().toISOString(), size: cut.size,
    segments: cut.pieces.map((p) => ({ sha256: p.sha256, size: p.bytes.length })), previous,
  };
}

/** Blobs a log pointer keeps alive (for garbage collection). */
export function logBlobs(p: LogPointer | null): string[] {
  return p ? [...p.segments.map((s) => s.sha256), ...p.previous] : [];
}

/**
 * Bring the backed-up log into `runDir` when the local one is missing or shorter (a local log
 * that is as long or longer is this machine's own and wins). Every piece is checked by sha256.
 * Returns the bytes written, or 0.
 */
export async function restoreLog(store: Store, run: string, runDir: string, log: (m: string) => void = () => {}): Promise<number> {
  const p = await readLogPointer(store, run, log);
  if (!p) return 0;
  const local = path.join(runDir, LOG_FILE);
  const have = (await fsp.stat(local).catch(() => null))?.size ?? 0;
  if (have >= p.size) return 0;
  const parts: Buffer[] = [];
  for (const s of p.segments) {
    const b = await readFileFromStore(store, blobPath(run, s.sha256));
    if (b.length !== s.size || createHash('sha256').update(b).digest('hex') !== s.sha256) {
      log(`drivetrain: the backed-up metrics log of ${run} does not verify (piece ${s.sha256.slice(0, 12)}…); keeping the local one`);
      return 0;
    }
    parts.push(b);
  }
  await fsp.mkdir(runDir, { recursive: true });
  const tmp = path.join(runDir, `.tmp-${LOG_FILE}-${randomBytes(4).toString('hex')}`);
  await fsp.writeFile(tmp, Buffer.concat(parts));
  await fsp.rename(tmp, local);
  return p.size;
}
