// One-call restore: the newest checkpoint on the store whose manifest and blobs verify (md5 from
// the store, sha256 of every byte downloaded) becomes a normal local checkpoint directory, built
// in a hidden staging folder and renamed into place. Bytes already present in local checkpoints
// are copied instead of downloaded. A newer valid local checkpoint wins.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { MANIFEST_FILE, TENSORS_FILE, parseManifest } from '../checkpoint/manifest.js';
import { CHECKPOINTS_DIR } from '../checkpoint/metadata.js';
import { defaultRunsBase } from '../checkpoint/runs.js';
import { selectResume } from '../checkpoint/resume.js';
import { hashFileRange } from '../storage/hash-file.js';
import { type Store, formatBytes } from '../storage/store.js';
import { BLOBS_DIR, INDEX_FILE, ManifestLayoutError, type StoreIndex, type StoreManifest, UnsafeStoreName, blobPath, checkName, safeJoin } from './format.js';
import { restoreLog } from './log-backup.js';
import { CheckpointManager } from '../checkpoint/manager.js';
import { loadIndex, readStoreManifest } from './publish.js';

export interface RestoreOptions {
  from: Store;
  /** Run folder name on the store; default: the only run there, else the most recently updated. */
  run?: string;
  /** Local run folder (default <$DRIVETRAIN_RUNS or ./runs>/<run>; watched folders: ./<run>). */
  into?: string;
  /** Restore this checkpoint instead of the newest verified one. */
  name?: string;
  log?: (message: string) => void;
}

export interface RestoreResult {
  source: 'store' | 'local' | 'none';
  run: string;
  /** the local checkpoint directory (or folder) to resume from */
  dir: string | null;
  name: string | null;
  globalStep: number | null;
  downloadedBytes: number;
  reusedBytes: number;
  /** store checkpoints that failed verification, newest first */
  rejected: { name: string; reason: string }[];
  /** the run's best checkpoint (by the store index), restored beside the newest when it was missing locally; null if the index names none */
  best?: string | null;
  message: string;
}

export interface RemoteRun {
  run: string;
  latest: string | null;
  /** the trainer's global step of the latest checkpoint; for watched folders (kind `snapshot`) the snapshot number */
  globalStep: number | null;
  kind: string | null;
  updated: string;
  checkpoints: number;
}

/** Runs backed up on a store (folders holding a latest.json). */
export async function listRemoteRuns(store: Store): Promise<RemoteRun[]> {
  const out: RemoteRun[] = [];
  for (const e of await store.list('')) {
    if (!e.isFolder) continue;
    const idx = await loadIndex(store, e.name, () => {}).catch(() => null);
    if (!idx) continue;
    const latest = idx.checkpoints.find((c) => c.name === idx.latest);
    out.push({ run: e.name, latest: idx.latest, globalStep: latest?.globalStep ?? null, kind: latest?.kind ?? null, updated: idx.updated, checkpoints: idx.checkpoints.length });
  }
  return out.sort((a, b) => a.updated.localeCompare(b.updated));
}

type LocalSource = { abs: string; offset: number; size: number };

/** sha256 → where those bytes sit in local checkpoints (from their manifest.json). */
async function localSources(runDir: string): Promise<Map<string, LocalSource>> {
  const map = new Map<string, LocalSource>();
  const root = path.join(runDir, CHECKPOINTS_DIR);
  for (const name of await fsp.readdir(root).catch(() => [] as string[])) {
    if (name.startsWith('.')) continue;
    const dir = path.join(root, name);
    try {
      const m = parseManifest(JSON.parse(await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8')), dir);
      const t = path.join(dir, TENSORS_FILE);
      map.set(m.header.sha256, { abs: t, offset: 0, size: m.header.range[1] });
      for (const x of Object.values(m.tensors)) map.set(x.sha256, { abs: t, offset: x.range[0], size: x.range[1] - x.range[0] });
      for (const [f, x] of Object.entries(m.files)) map.set(x.sha256, { abs: path.join(dir, f), offset: 0, size: x.size });
    } catch {
      // not a checkpoint (or damaged): nothing to reuse from it
    }
  }
  return map;
}

async function chooseRun(store: Store, run?: string): Promise<string> {
  if (run) return checkName(run, 'run name');
  const runs = await listRemoteRuns(store);
  if (runs.length === 0) throw new Error(`no backed-up runs at ${store.description} (no <run>/${INDEX_FILE} found)`);
  return runs[runs.length - 1].run;
}

/** Check manifest paths and that every blob exists on the store with the recorded size and md5. */
async function verifyRemote(store: Store, m: StoreManifest, into: string): Promise<void> {
  const dir = safeJoin(into, m.relDir);
  for (const f of m.files) {
    safeJoin(dir, f.path);
    const sum = f.segments.reduce((a, s) => a + s.size, 0);
    if (sum !== f.size) throw new Error(`manifest lists ${sum} bytes of blobs for ${f.path}, which has ${f.size}`);
  }
  const listed = new Map((await store.list(`${m.run}/${BLOBS_DIR}`)).map((e) => [e.name, e]));
  const checked = new Set<string>();
  for (const f of m.files) for (const s of f.segments) {
    if (checked.has(s.sha256)) continue;
    checked.add(s.sha256);
    const e = listed.get(s.sha256);
    const st = e?.md5 ? { size: e.size, md5: e.md5 } : e ? await store.stat(blobPath(m.run, s.sha256)) : null;
    if (!st) throw new Error(`blob ${s.sha256.slice(0, 12)}… is missing`);
    if (st.size !== s.size || st.md5 !== s.md5) throw new Error(`blob ${s.sha256.slice(0, 12)}… has size ${st.size} md5 ${st.md5}, manifest says ${s.size} ${s.md5}`);
  }
}

/** Write one file from its segments (local copies or downloads), checking every segment's sha256. */
async function assemble(store: Store, m: StoreManifest, f: StoreManifest['files'][number], out: string, local: Map<string, LocalSource>, tally: { down: number; reused: number }): Promise<void> {
  const fh = await fsp.open(out, 'w');
  try {
    let pos = 0;
    for (const s of f.segments) {
      const loc = local.get(s.sha256) ?? (s.of && local.get(s.of.sha256) ? { ...local.get(s.of.sha256)!, offset: local.get(s.of.sha256)!.offset + s.of.offset, size: s.size } : undefined);
      let done = false;
      if (loc && loc.size >= s.size) {
        done = await copySegment(createReadStream(loc.abs, { start: loc.offset, end: loc.offset + s.size - 1 }), fh, pos, s, true);
        if (done) tally.reused += s.size;
      }
      if (!done) {
        const ok = s.size === 0 || await copySegment(await store.read(blobPath(m.run, s.sha256)), fh, pos, s, false);
        if (!ok) throw new Error(`blob ${s.sha256.slice(0, 12)}… downloaded with a different sha256`);
        tally.down += s.size;
      }
      pos += s.size;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.truncate(out, f.size);
  const got = await sha256File(out);
  if (got !== f.sha256) throw new Error(`${f.path} reassembled with sha256 ${got.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}…`);
}

/** Copy a stream into fh at pos; true when its length and sha256 match (a failed local read gives false). */
async function copySegment(src: AsyncIterable<unknown>, fh: fsp.FileHandle, pos: number, s: { sha256: string; size: number }, tentative: boolean): Promise<boolean> {
  const h = createHash('sha256');
  let n = 0;
  try {
    for await (const c of src) {
      const b = c as Buffer;
      h.update(b);
      await fh.write(b, 0, b.length, pos + n);
      n += b.length;
    }
  } catch (e) {
    if (tentative) return false;
    throw e;
  }
  return n === s.size && h.digest('hex') === s.sha256;
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  const log = o.log ?? ((m: string) => console.log(m));
  const store = o.from;
  const run = await chooseRun(store, o.run);
  const idx = await loadIndex(store, run, log);
  if (!idx) throw new Error(`no backup of run "${run}" at ${store.description} (${run}/${INDEX_FILE} is missing)`);
  const into = path.resolve(o.into ?? await defaultInto(store, run, idx.latest));
  const candidates = [...idx.checkpoints]
    .filter((c) => !o.name || c.name === o.name)
    .sort((a, b) => b.globalStep - a.globalStep || b.created.localeCompare(a.created));
  if (o.name && candidates.length === 0) throw new Error(`checkpoint "${o.name}" is not in the backup of ${run} (has: ${idx.checkpoints.map((c) => c.name).join(', ')})`);
  const base: Omit<RestoreResult, 'source' | 'dir' | 'name' | 'globalStep' | 'message'> = { run, downloadedBytes: 0, reusedBytes: 0, rejected: [] };
  const local = await selectResume(into, { warn: () => {} }).catch(() => null);
  const localWins = (step: number) => local && !o.name && local.manifest.globalStep >= step;
  for (const c of candidates) {
    if (localWins(c.globalStep)) break;
    try {
      checkName(c.name, 'checkpoint name');
      const m = await readStoreManifest(store, run, c.name);
      await verifyRemote(store, m, into);
      const r = m.type === 'folder' ? await restoreFolder(store, m, into) : await restoreCheckpoint(store, m, into);
      const res: RestoreResult = {
        ...base, source: 'store', dir: r.dir, name: m.name, globalStep: m.globalStep, downloadedBytes: r.down, reusedBytes: r.reused,
        message: `Restored ${m.name} (${m.type === 'folder' ? `snapshot ${m.globalStep}` : `step ${m.globalStep}`}) from ${store.description}/${run} into ${r.dir}: ${formatBytes(r.down)} downloaded, ${formatBytes(r.reused)} reused from local files`,
      };
      log(res.message);
      if (m.type === 'checkpoint') res.best = await restoreExtras(store, idx, into, log);
      return res;
    } catch (e) {
      if (e instanceof UnsafeStoreName || e instanceof ManifestLayoutError) throw e;
      base.rejected.push({ name: c.name, reason: (e as Error).message });
      log(`drivetrain: backup ${c.name} (step ${c.globalStep}) does not verify, trying an older one: ${(e as Error).message}`);
    }
  }
  if (local) {
    const newest = candidates[0]?.globalStep;
    const why = newest !== undefined && newest > local.manifest.globalStep
      ? `the newer backups failed verification (${base.rejected.map((r) => r.name).join(', ')})`
      : `it is at least as new as the backup${newest !== undefined ? ` (step ${newest})` : ''}`;
    const message = `Local checkpoint ${local.name} (step ${local.manifest.globalStep}) is valid and ${why}: keeping the local copy`;
    log(message);
    const best = await restoreExtras(store, idx, into, log);
    return { ...base, source: 'local', dir: local.dir, name: local.name, globalStep: local.manifest.globalStep, best, message };
  }
  const message = `No verified checkpoint of ${run} at ${store.description}${base.rejected.length ? ` (${base.rejected.length} failed verification)` : ''}`;
  log(message);
  return { ...base, source: 'none', dir: null, name: null, globalStep: null, message };
}

/**
 * After the newest checkpoint: the run's best too when it is missing locally (the next stage
 * starts from it), the metrics log when the local one is shorter, and metadata.json naming the
 * best. Failures here are logged; the newest checkpoint is restored either way. Returns the best's name.
 */
async function restoreExtras(store: Store, idx: StoreIndex, into: string, log: (m: string) => void): Promise<string | null> {
  const run = idx.run;
  const b = idx.best;
  if (b && !(await fsp.stat(path.join(into, CHECKPOINTS_DIR, b.name, MANIFEST_FILE)).catch(() => null))) {
    try {
      const m = await readStoreManifest(store, run, b.name);
      await verifyRemote(store, m, into);
      const r = await restoreCheckpoint(store, m, into);
      log(`Restored the run's best ${m.name} (${b.metric}=${m.metrics[b.metric]}, step ${m.globalStep}) into ${r.dir}: ${formatBytes(r.down)} downloaded`);
    } catch (e) {
      if (e instanceof UnsafeStoreName || e instanceof ManifestLayoutError) throw e;
      log(`drivetrain: the run's best ${b.name} could not be restored (${(e as Error).message}); the newest checkpoint is restored`);
    }
  }
  const n = await restoreLog(store, run, into, log).catch((e: Error) => { log(`drivetrain: metrics log not restored: ${e.message}`); return 0; });
  if (n) log(`Restored the metrics log (${formatBytes(n)})`);
  if (b) await recordBest(into, b, log);
  return b?.name ?? null;
}

/** metadata.json of the restored run names its best (what the next stage starts from). */
async function recordBest(into: string, b: NonNullable<StoreIndex['best']>, log: (m: string) => void): Promise<void> {
  try {
    const m = await CheckpointManager.open(into, { keep: { best: { monitor: b.metric, mode: b.mode, minDelta: b.minDelta } } }, { writer: 'inline', warn: () => {} });
    await m.close();
  } catch (e) {
    log(`drivetrain: metadata.json of ${into} not updated (${(e as Error).message})`);
  }
}

/** Drivetrain runs go to <runs base>/<run> (where the trainer looks); watched folders to ./<run>. */
async function defaultInto(store: Store, run: string, latest: string | null): Promise<string> {
  const m = latest ? await readStoreManifest(store, run, latest).catch(() => null) : null;
  return m?.type === 'folder' ? run : path.join(defaultRunsBase(), run);
}

async function restoreCheckpoint(store: Store, m: StoreManifest, into: string): Promise<{ dir: string; down: number; reused: number }> {
  const final = safeJoin(into, m.relDir);
  if (final === path.resolve(into)) throw new UnsafeStoreName('refusing the name "" from the store: a checkpoint needs its own folder');
  const parent = path.dirname(final);
  await fsp.mkdir(parent, { recursive: true });
  const stage = path.join(parent, `.tmp-restore-${path.basename(final)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(stage);
  const tally = { down: 0, reused: 0 };
  try {
    const local = await localSources(into);
    // manifest.json is last in the list: the commit record is written after the data files
    for (const f of m.files) {
      const out = safeJoin(stage, f.path);
      await fsp.mkdir(path.dirname(out), { recursive: true });
      await assemble(store, m, f, out, local, tally);
    }
    const old = await fsp.stat(final).then(() => true, () => false);
    if (old) await fsp.rename(final, path.join(parent, `.del-${path.basename(final)}-${randomBytes(4).toString('hex')}`));
    await fsp.rename(stage, final);
    if (old) for (const n of await fsp.readdir(parent)) if (n.startsWith(`.del-${path.basename(final)}-`)) await fsp.rm(path.join(parent, n), { recursive: true, force: true });
  } catch (e) {
    await fsp.rm(stage, { recursive: true, force: true });
    throw e;
  }
  return { dir: final, ...tally };
}

/** Watched-folder snapshots: each file replaced atomically unless the local copy is identical or newer. */
async function restoreFolder(store: Store, m: StoreManifest, into: string): Promise<{ dir: string; down: number; reused: number }> {
  const dir = safeJoin(into, m.relDir);
  const tally = { down: 0, reused: 0 };
  for (const f of m.files) {
    const out = safeJoin(dir, f.path);
    const st = await fsp.stat(out).catch(() => null);
    if (st && st.size === f.size && (await sha256File(out)) === f.sha256) { tally.reused += f.size; continue; }
    if (st && st.mtimeMs > Date.parse(m.created)) continue; // written locally after the snapshot: local wins
    await fsp.mkdir(path.dirname(out), { recursive: true });
    const tmp = path.join(path.dirname(out), `.tmp-restore-${path.basename(out)}-${randomBytes(4).toString('hex')}`);
    try {
      await assemble(store, m, f, tmp, new Map(), tally);
      await fsp.rename(tmp, out);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }
  return { dir, ...tally };
}

async function sha256File(file: string): Promise<string> {
  const { size } = await fsp.stat(file);
  return (await hashFileRange(file, 0, size, ['sha256']))[0];
}
