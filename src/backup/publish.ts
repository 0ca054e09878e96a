// Publishing snapshots of one run to a Store: missing blobs first, then the manifest, then
// latest.json LAST; then store-side retention and garbage collection of unreferenced blobs.
import { createReadStream } from 'node:fs';
import type { CheckpointKind } from '../checkpoint/manifest.js';
import { findBest, newestOf, selectDeletions, type CheckpointOptions } from '../checkpoint/policy.js';
import { hashFileRange } from '../storage/hash-file.js';
import { LocalDirStore } from '../storage/local-store.js';
import { checkQuota, isQuotaError } from '../storage/mount.js';
import { type ByteSource, type Store, formatBytes, readFileFromStore } from '../storage/store.js';
import {
  type IndexEntry, STORE_INDEX_FORMAT, STORE_MANIFEST_FORMAT, type StoreIndex, StoreIndexSchema, type StoreManifest, StoreManifestSchema,
  BLOBS_DIR, MANIFESTS_DIR, blobPath, checkManifestLayout, checkName, indexPath, manifestPath, parseWith,
} from './format.js';
import type { PlannedFile } from './segments.js';
import { type LogPointer, cutLog, logBlobs, logPointerPath, nextPointer, readLogPointer } from './log-backup.js';

export type KeepPolicy = CheckpointOptions['keep'];
export const DEFAULT_KEEP: KeepPolicy = { lastN: 3, recoveryN: 1 };

export interface SnapshotInfo {
  name: string;
  type: StoreManifest['type'];
  relDir: string;
  kind: string;
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  metrics: Record<string, number>;
  created: string;
}

export interface PublishResult {
  manifest: StoreManifest;
  newBytes: number;
  reusedBytes: number;
  deleted: string[];
}

export interface PublishProgress { uploadedBytes: number; newBytes: number }

/** latest.json exists but cannot be used (truncated, empty, not the index schema). */
export class IndexUnreadableError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file} is unreadable (${reason})`);
    this.name = 'IndexUnreadableError';
  }
}

/** The run's latest.json; null when absent; IndexUnreadableError (naming the file) when damaged. */
export async function readIndex(store: Store, run: string): Promise<StoreIndex | null> {
  const st = await store.stat(indexPath(run));
  if (!st) return null;
  const file = `${store.description}/${indexPath(run)}`;
  const text = (await readFileFromStore(store, indexPath(run))).toString('utf8');
  if (text.trim() === '') throw new IndexUnreadableError(file, `empty file of ${st.size} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IndexUnreadableError(file, `not valid JSON, ${text.length} bytes: ${(e as Error).message}`);
  }
  try {
    return parseWith(StoreIndexSchema, json, file);
  } catch (e) {
    throw new IndexUnreadableError(file, (e as Error).message.replace(`${file} `, ''));
  }
}

/** An index rebuilt from the run's manifests (every readable one; the newest is `latest`). */
export async function indexFromManifests(store: Store, run: string, warn: (m: string) => void = () => {}): Promise<StoreIndex> {
  const checkpoints: IndexEntry[] = [];
  for (const e of await store.list(`${run}/${MANIFESTS_DIR}`)) {
    if (e.isFolder || !e.name.endsWith('.json')) continue;
    try {
      checkpoints.push(indexEntry(await readStoreManifest(store, run, e.name.slice(0, -'.json'.length))));
    } catch (err) {
      warn(`drivetrain: skipping ${store.description}/${run}/${MANIFESTS_DIR}/${e.name}: ${(err as Error).message}`);
    }
  }
  const newest = newestOf(checkpoints.map((c) => ({ ...c, kind: c.kind as CheckpointKind })));
  return { format: STORE_INDEX_FORMAT, version: 1, run, updated: new Date().toISOString(), generation: 0, latest: newest?.name ?? null, checkpoints, retired: [], best: null };
}

/**
 * The run's index: latest.json, or, when that is damaged, one rebuilt from the manifests (with a
 * warning naming the file); null when the run has no latest.json.
 */
export async function loadIndex(store: Store, run: string, warn: (m: string) => void = (m) => console.warn(m)): Promise<StoreIndex | null> {
  try {
    return await readIndex(store, run);
  } catch (e) {
    if (!(e instanceof IndexUnreadableError)) throw e;
    const idx = await indexFromManifests(store, run, warn);
    warn(`drivetrain: ${e.message}; using the ${idx.checkpoints.length} manifest(s) in ${store.description}/${run}/${MANIFESTS_DIR} instead (the next backup rewrites it)`);
    return idx;
  }
}

function indexEntry(m: StoreManifest): IndexEntry {
  return {
    name: m.name, kind: m.kind, epoch: m.epoch, stepInEpoch: m.stepInEpoch, globalStep: m.globalStep, metrics: m.metrics, created: m.created,
    bytes: m.files.reduce((a, f) => a + f.size, 0),
  };
}

export async function readStoreManifest(store: Store, run: string, name: string): Promise<StoreManifest> {
  const p = manifestPath(run, name);
  const text = (await readFileFromStore(store, p)).toString('utf8');
  const m = parseWith(StoreManifestSchema, JSON.parse(text), `${store.description}/${p}`);
  if (m.name !== name || m.run !== run) throw new Error(`${store.description}/${p} names ${m.run}/${m.name}, expected ${run}/${name}`);
  checkManifestLayout(m, `${store.description}/${p}`);
  return m;
}

/** Byte range of a local file as a re-openable source. */
function rangeSource(abs: string, offset: number, size: number, sha256: string): ByteSource {
  return { size, sha256, file: { path: abs, offset }, open: (start) => createReadStream(abs, { start: offset + start, end: offset + size - 1 }) };
}

async function hashRange(abs: string, offset: number, size: number): Promise<string> {
  return (await hashFileRange(abs, offset, size, ['sha256']))[0]; // on a worker thread
}

export class RunPublisher {
  /** blobs known to be complete on the store: sha256 → md5 ('' when not yet known) */
  private present = new Map<string, { size: number; md5: string }>();
  private manifests = new Map<string, StoreManifest>();
  private index: StoreIndex | null = null;
  private log: LogPointer | null = null;
  private ready: Promise<void> | null = null;

  constructor(readonly store: Store, readonly run: string, private keep: KeepPolicy = DEFAULT_KEEP, private concurrency = 4, private warn: (m: string) => void = (m) => console.warn(m)) {
    checkName(run, 'run name');
  }

  init(): Promise<void> {
    this.ready ??= this.load().catch((e) => { this.ready = null; throw e; });
    return this.ready;
  }

  private async load(): Promise<void> {
    if (this.store instanceof LocalDirStore) await this.store.cleanTemp(this.run); // left by a killed writer
    this.index = await loadIndex(this.store, this.run, this.warn);
    this.log = await readLogPointer(this.store, this.run, this.warn);
    for (const e of await this.store.list(`${this.run}/${BLOBS_DIR}`)) {
      if (!e.isFolder && /^[0-9a-f]{64}$/.test(e.name)) this.present.set(e.name, { size: e.size, md5: '' });
    }
    for (const name of this.referencedNames()) {
      const m = await readStoreManifest(this.store, this.run, name).catch(() => null);
      if (!m) continue;
      this.manifests.set(name, m);
      for (const f of m.files) for (const s of f.segments) {
        const p = this.present.get(s.sha256);
        if (p && p.size === s.size) p.md5 = s.md5;
      }
    }
  }

  private referencedNames(): string[] {
    const i = this.index;
    return i ? [...i.checkpoints.map((c) => c.name), ...i.retired.map((r) => r.name)] : [];
  }

  get latest(): IndexEntry | null {
    const i = this.index;
    return i?.checkpoints.find((c) => c.name === i.latest) ?? null;
  }

  has(name: string): boolean {
    return !!this.index?.checkpoints.some((c) => c.name === name);
  }

  /** Names of the checkpoints the store's index lists. */
  names(): string[] {
    return this.index?.checkpoints.map((c) => c.name) ?? [];
  }

  /** Upload what is missing, then the manifest, then latest.json; returns byte counts. */
  async publish(info: SnapshotInfo, files: PlannedFile[], onProgress?: (p: PublishProgress) => void): Promise<PublishResult> {
    checkName(info.name, 'checkpoint name');
    await this.init();
    // 1. blobs, each only if absent
    const todo = new Map<string, { abs: string; offset: number; size: number }>();
    let reusedBytes = 0;
    for (const f of files) for (const s of f.segments) {
      if (this.present.has(s.sha256) || todo.has(s.sha256)) { if (!todo.has(s.sha256)) reusedBytes += s.size; continue; }
      todo.set(s.sha256, { abs: f.abs, offset: s.offset, size: s.size });
    }
    const newBytes = [...todo.values()].reduce((a, t) => a + t.size, 0);
    let uploadedBytes = 0;
    const queue = [...todo.entries()];
    const errors: unknown[] = [];
    const worker = async () => {
      for (let job = queue.shift(); job && !errors.length; job = queue.shift()) {
        const [sha, t] = job;
        // Never store bytes under a name they do not hash to: later checkpoints would reuse them.
        if (!this.store.verifiesSha256) {
          const got = await hashRange(t.abs, t.offset, t.size);
          if (got !== sha) throw new Error(`${t.abs} bytes ${t.offset}+${t.size} changed since they were hashed (sha256 ${got.slice(0, 12)}… ≠ ${sha.slice(0, 12)}…); not uploading them`);
        }
        const r = await this.store.write(blobPath(this.run, sha), rangeSource(t.abs, t.offset, t.size, sha));
        if (r.size !== t.size) throw new Error(`store kept ${r.size} bytes of blob ${sha.slice(0, 12)}…, expected ${t.size}`);
        this.present.set(sha, { size: t.size, md5: r.md5 });
        uploadedBytes += t.size;
        onProgress?.({ uploadedBytes, newBytes });
      }
    };
    // After a failure no new uploads start, and publish() settles only once those in flight have
    // (none keeps writing behind a retry or a close()).
    await Promise.all(Array.from({ length: Math.max(1, this.concurrency) }, () => worker().catch((e: unknown) => { errors.push(e); })));
    if (errors.length) throw isQuotaError(errors[0]) ? await this.quotaError(errors[0], newBytes - uploadedBytes) : errors[0];
    // md5 of reused blobs not seen in any manifest yet (left by a killed process): ask the store
    for (const f of files) for (const s of f.segments) {
      const p = this.present.get(s.sha256)!;
      if (!p.md5) {
        const st = await this.store.stat(blobPath(this.run, s.sha256));
        if (!st || st.size !== s.size) throw new Error(`blob ${s.sha256.slice(0, 12)}… vanished from ${this.store.description}`);
        p.md5 = st.md5;
      }
    }
    // 2. the manifest
    const manifest: StoreManifest = {
      format: STORE_MANIFEST_FORMAT, version: 1, run: this.run, ...info,
      files: files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, segments: f.segments.map((s) => ({ sha256: s.sha256, size: s.size, md5: this.present.get(s.sha256)!.md5, ...(s.of ? { of: s.of } : {}) })) })),
    };
    await this.store.write(manifestPath(this.run, info.name), Buffer.from(JSON.stringify(manifest)));
    this.manifests.set(info.name, manifest);
    // 3. latest.json, with retention applied
    const deleted = await this.writeIndex(manifest);
    // temp files of writers killed since init (a store outlives many runs and kills)
    if (this.store instanceof LocalDirStore) await this.store.cleanTemp(this.run).catch(() => 0);
    return { manifest, newBytes, reusedBytes, deleted };
  }

  /**
   * Back up the run's metrics log incrementally (log-backup.ts): only pieces the store lacks are
   * uploaded, then the pointer. Nothing is written when the log has not grown.
   */
  async publishLog(file: string): Promise<{ newBytes: number; reusedBytes: number }> {
    await this.init();
    const cut = await cutLog(file, this.log);
    if (!cut || (this.log && this.log.size === cut.size && this.log.segments.every((s, i) => s.sha256 === cut.pieces[i]?.sha256))) return { newBytes: 0, reusedBytes: cut?.size ?? 0 };
    let newBytes = 0;
    for (const p of cut.pieces) {
      if (this.present.has(p.sha256)) continue;
      const r = await this.store.write(blobPath(this.run, p.sha256), p.bytes);
      if (r.size !== p.bytes.length) throw new Error(`store kept ${r.size} bytes of log piece ${p.sha256.slice(0, 12)}…, expected ${p.bytes.length}`);
      this.present.set(p.sha256, { size: p.bytes.length, md5: r.md5 });
      newBytes += p.bytes.length;
    }
    const pointer = nextPointer(this.run, cut, this.log);
    await this.store.write(logPointerPath(this.run), Buffer.from(JSON.stringify(pointer)));
    this.log = pointer;
    return { newBytes, reusedBytes: cut.size - newBytes };
  }

  /** A store-full failure, with the free space the store reports (checkQuota) and what to do. */
  private async quotaError(e: unknown, missing: number): Promise<Error> {
    const q = await checkQuota(this.store, missing, () => {}).catch(() => null);
    const free = q?.free !== null && q?.free !== undefined ? `${formatBytes(q.free)} free` : 'free space unknown';
    return new Error(`${this.store.description} is full (${(e as Error).message}): ${free}, this checkpoint still needs ${formatBytes(missing)}. Free space there (older runs: drivetrain restore --from … --list), or keep fewer checkpoints (--keep-last)`, { cause: e });
  }

  private async writeIndex(m: StoreManifest): Promise<string[]> {
    const prev = this.index;
    const generation = (prev?.generation ?? 0) + 1;
    const entry = indexEntry(m);
    let list = [...(prev?.checkpoints ?? []).filter((c) => c.name !== m.name), entry];
    const kept = list.map((c) => ({ ...c, kind: c.kind as CheckpointKind }));
    const drop = new Set(selectDeletions(kept, this.keep));
    list = list.filter((c) => !drop.has(c.name));
    const left = kept.filter((c) => !drop.has(c.name));
    const newest = newestOf(left)!; // the one selectDeletions protects
    const b = this.keep.best;
    const bestEntry = b ? findBest(left, b) : null;
    const retiredBefore = (prev?.retired ?? []).filter((r) => !list.some((c) => c.name === r.name));
    const gone = retiredBefore.filter((r) => r.generation < generation);
    const retired = [...retiredBefore.filter((r) => !gone.includes(r)), ...[...drop].map((name) => ({ name, generation }))];
    const index: StoreIndex = {
      format: STORE_INDEX_FORMAT, version: 1, run: this.run, updated: new Date().toISOString(), generation,
      latest: newest.name, checkpoints: list, retired,
      best: bestEntry && b ? { name: bestEntry.name, metric: b.monitor, mode: b.mode, minDelta: b.minDelta } : null,
    };
    await this.store.write(indexPath(this.run), Buffer.from(JSON.stringify(index, null, 1)));
    this.index = index;
    // Retired by an earlier index: readers of the current or the previous index cannot reach them.
    for (const r of gone) {
      await this.store.delete(manifestPath(this.run, r.name));
      this.manifests.delete(r.name);
    }
    if (gone.length) await this.collectGarbage();
    return gone.map((r) => r.name);
  }

  /** Delete blobs that no kept or retired manifest (nor the metrics log) references. */
  private async collectGarbage(): Promise<void> {
    const used = new Set<string>(logBlobs(this.log));
    for (const name of this.referencedNames()) {
      let m = this.manifests.get(name);
      if (!m) {
        m = await readStoreManifest(this.store, this.run, name).catch(() => undefined);
        if (!m) return; // cannot tell what is referenced: delete nothing
        this.manifests.set(name, m);
      }
      for (const f of m.files) for (const s of f.segments) used.add(s.sha256);
    }
    for (const sha of [...this.present.keys()]) {
      if (used.has(sha)) continue;
      await this.store.delete(blobPath(this.run, sha));
      this.present.delete(sha);
    }
  }
}
