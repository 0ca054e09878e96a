// The run's metrics log (metrics.jsonl, one JSON line per step and epoch) on the store. It only
// grows, so it is cut at fixed 64 KiB boundaries into content-addressed blobs beside the
// checkpoints' ones: each backup uploads the new full pieces and the partial last one (≤ 64 KiB),
// never the whole log again; `<run>/metrics-log.json` lists the pieces and is written after them.
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

/** The log's complete lines cut into pieces (null when there is no log or no complete line). */
export async function cutLog(file: string, chunkBytes = LOG_CHUNK_BYTES): Promise<{ size: number; pieces: LogPiece[] } | null> {
  const buf = await fsp.readFile(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  const size = buf ? buf.lastIndexOf(10) + 1 : 0; // a line still being appended waits for the next backup
  if (!buf || size === 0) return null;
  const pieces: LogPiece[] = [];
  for (let o = 0; o < size; o += chunkBytes) {
    const bytes = buf.subarray(o, Math.min(size, o + chunkBytes));
    pieces.push({ sha256: createHash('sha256').update(bytes).digest('hex'), bytes });
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
