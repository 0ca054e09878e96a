// What backup puts on a Store, per run:
//   <run>/blobs/<sha256>            content-addressed pieces of files (uploaded once per run)
//   <run>/manifests/<name>.json     one per checkpoint: its files as ordered lists of blobs
//   <run>/latest.json               the index: retained checkpoints + the newest; written LAST
// A manifest is written only after all its blobs; latest.json only after the manifest.
import * as path from 'node:path';
import { z } from 'zod';
import { CHECKPOINTS_DIR } from '../checkpoint/metadata.js';
import { normalizePath } from '../storage/store.js';

export const STORE_MANIFEST_FORMAT = 'drivetrain-backup-manifest';
export const STORE_INDEX_FORMAT = 'drivetrain-backup-index';
export const INDEX_FILE = 'latest.json';
export const BLOBS_DIR = 'blobs';
export const MANIFESTS_DIR = 'manifests';

const sha = z.string().regex(/^[0-9a-f]{64}$/);
const md5 = z.string().regex(/^[0-9a-f]{32}$/);

export const SegmentSchema = z.object({
  sha256: sha,
  size: z.number().int().nonnegative(),
  md5,
  /** for a chunk of a bigger tensor: that tensor's sha256 and the chunk's offset in it */
  of: z.object({ sha256: sha, offset: z.number().int().nonnegative() }).optional(),
});

export const StoreFileSchema = z.object({
  /** relative to the checkpoint folder, `/`-separated */
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: sha,
  segments: z.array(SegmentSchema),
});

/** What a store manifest and its index entry both say about a checkpoint. */
const checkpointFields = {
  kind: z.string(),
  epoch: z.number().int().nonnegative(),
  stepInEpoch: z.number().int().nonnegative(),
  globalStep: z.number().int().nonnegative(),
  metrics: z.record(z.string(), z.number()).default({}),
  created: z.string(),
};

export const StoreManifestSchema = z.object({
  format: z.literal(STORE_MANIFEST_FORMAT),
  version: z.literal(1),
  run: z.string(),
  name: z.string().min(1),
  /** `checkpoint`: a drivetrain checkpoint dir; `folder`: files of a watched folder */
  type: z.enum(['checkpoint', 'folder']),
  /** where the files go, relative to the run folder ('' = the folder itself) */
  relDir: z.string(),
  ...checkpointFields,
  files: z.array(StoreFileSchema),
});

export const IndexEntrySchema = z.object({
  name: z.string().min(1),
  ...checkpointFields,
  bytes: z.number().int().nonnegative(),
});

export const StoreIndexSchema = z.object({
  format: z.literal(STORE_INDEX_FORMAT),
  version: z.literal(1),
  run: z.string(),
  updated: z.string(),
  /** bumped at every write; retired manifests are deleted one generation later */
  generation: z.number().int().nonnegative(),
  latest: z.string().nullable(),
  checkpoints: z.array(IndexEntrySchema),
  /** dropped from the index but kept one more generation for readers of the previous index */
  retired: z.array(z.object({ name: z.string(), generation: z.number().int() })).default([]),
  /** the run's best checkpoint by its keep-best rule (restore brings it back beside the newest); absent in older indexes */
  best: z.object({ name: z.string(), metric: z.string(), mode: z.enum(['min', 'max']), minDelta: z.number() }).nullable().default(null),
});

export type Segment = z.output<typeof SegmentSchema>;
export type StoreFile = z.output<typeof StoreFileSchema>;
export type StoreManifest = z.output<typeof StoreManifestSchema>;
export type IndexEntry = z.output<typeof IndexEntrySchema>;
export type StoreIndex = z.output<typeof StoreIndexSchema>;

export const blobPath = (run: string, sha256: string) => `${run}/${BLOBS_DIR}/${sha256}`;
export const manifestPath = (run: string, name: string) => `${run}/${MANIFESTS_DIR}/${name}.json`;
export const indexPath = (run: string) => `${run}/${INDEX_FILE}`;

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what} is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** A single safe path segment (run or checkpoint name). */
export function checkName(name: string, what: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new Error(`${what} "${name}" is not a plain name`);
  return name;
}

/** A name from the store that would write outside the target folder: restore stops at once. */
export class UnsafeStoreName extends Error {}

/**
 * Resolve a relative path from the store inside `root`; refuse `..`, absolute paths and
 * anything that would land outside `root`.
 */
export function safeJoin(root: string, rel: string): string {
  if (rel === '') return path.resolve(root);
  if (path.isAbsolute(rel) || /^[a-zA-Z]:/.test(rel) || rel.includes('\\') || rel.split('/').includes('..')) {
    throw new UnsafeStoreName(`refusing the name "${rel}" from the store: it would escape the target folder`);
  }
  const n = normalizePath(rel);
  const abs = path.resolve(root, ...n.split('/'));
  const base = path.resolve(root);
  if (abs !== base && !abs.startsWith(base + path.sep)) throw new UnsafeStoreName(`refusing the name "${rel}" from the store: it would escape the target folder`);
  return abs;
}

/** A store manifest whose paths are not the layout drivetrain writes: corrupt or tampered with. */
export class ManifestLayoutError extends Error {
  constructor(readonly where: string, why: string) {
    super(`refusing ${where}: ${why}. drivetrain never writes such a manifest: it is corrupt or was tampered with; nothing local was changed. Check that file on the store, or restore another checkpoint with --checkpoint NAME.`);
    this.name = 'ManifestLayoutError';
  }
}

/** One path segment as drivetrain writes them: not empty, no separators or NUL, not hidden (no `.`, `..`, `.lock`, `.tmp-…`). */
const SEGMENT = /^[^./\\\0][^/\\\0]*$/;
const plain = (seg: string) => SEGMENT.test(seg);

/**
 * The exact layout a manifest may have, so a restore can only write where the manifest's kind
 * allows: a checkpoint goes to `checkpoints/<its name>/` and holds plain file names (manifest.json
 * among them); a folder snapshot (`backup --watch`) has relDir '' and relative paths of plain
 * segments. Anything else (e.g. relDir `checkpoints`, which would replace every local checkpoint)
 * is a ManifestLayoutError.
 */
export function checkManifestLayout(m: StoreManifest, where: string): void {
  const bad = (why: string) => { throw new ManifestLayoutError(where, why); };
  if (!plain(m.name)) bad(`its name "${m.name}" is not a plain checkpoint name`);
  const seen = new Set<string>();
  for (const f of m.files) {
    if (seen.has(f.path)) bad(`it lists "${f.path}" twice`);
    seen.add(f.path);
  }
  if (m.type === 'checkpoint') {
    const want = `${CHECKPOINTS_DIR}/${m.name}`;
    if (m.relDir !== want) bad(`relDir is "${m.relDir}", but checkpoint ${m.name} can only be restored into "${want}"`);
    for (const f of m.files) if (!plain(f.path)) bad(`file "${f.path}" is not a plain file name inside the checkpoint folder`);
    if (!seen.has('manifest.json')) bad('it has no manifest.json, so the restored folder would not be a checkpoint');
  } else {
    if (m.relDir !== '') bad(`relDir is "${m.relDir}", but a folder snapshot is restored into the folder itself ("")`);
    for (const f of m.files) if (!f.path.split('/').every(plain)) bad(`file "${f.path}" is not a relative path of plain names`);
  }
}
