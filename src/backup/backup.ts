// Background backup of a run: consumes "checkpoint became durable" events and publishes them to
// a Store (blobs → manifest → latest.json). One upload at a time, a bounded queue (a newer
// checkpoint replaces a waiting older one unless that one is permanent or a new best), bounded
// memory (streams; Drive chunks), loud but non-fatal failures, `flush()` at the end of a run.
// By default it runs on a worker thread (threaded.ts) so uploads progress while a training step
// blocks the main event loop; stores that cannot be reopened there run it on the main thread.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isImprovement } from '../checkpoint/policy.js';
import { MANIFEST_FILE } from '../checkpoint/manifest.js';
import { CHECKPOINTS_DIR } from '../checkpoint/metadata.js';
import { keptCheckpoints, localCheckpoints, missingOnStore } from './reconcile.js';
import { GoogleDriveStore } from '../storage/drive-store.js';
import { SessionFile } from '../storage/mount.js';
import { DEFAULT_KEEP, RunPublisher } from './publish.js';
import { LOG_FILE } from './log-backup.js';
import { DEFAULT_CHUNK_BYTES, planCheckpoint } from './segments.js';
import { type Backup, type BackupEvent, type BackupOptions, type BackupStatus, type DurableInfo, formatBackupEvent } from './events.js';
import { ThreadedBackup } from './threaded.js';

export { formatBackupEvent, type Backup, type BackupEvent, type BackupOptions, type BackupStatus, type DurableInfo } from './events.js';

interface Job { dir: string; name: string; kind: string; globalStep: number; bytes: number; mustKeep: boolean; attempt: number }

export function startBackup(o: BackupOptions): Backup {
  const spec = o.thread === false ? null : o.store.spec?.() ?? null;
  if (o.thread === true && !spec) {
    throw new Error(`startBackup: thread: true needs a store that can be reopened on a worker thread (a LocalDirStore, or a GoogleDriveStore whose auth came from createDriveAuth); ${o.store.description} cannot — leave \`thread\` unset to back up on the main thread`);
  }
  if (!spec) return new BackupRunner(o);
  const { store: _store, thread: _thread, ...options } = o;
  return new ThreadedBackup({ spec, options: { ...options, runDir: path.resolve(o.runDir) } }, initialStatus(o), () => new BackupRunner({ ...o, catchUp: true }));
}

function initialStatus(o: BackupOptions): BackupStatus {
  const run = o.runName ?? path.basename(path.resolve(o.runDir));
  return { store: o.store.description, run, pending: 0, pendingBytes: 0, uploading: null, lastBackedUp: null, lastError: null, failures: 0 };
}

/** The backup itself, on whichever thread it is created (the main one, or the backup thread). */
export class BackupRunner implements Backup {
  private queue: Job[] = [];
  private current: Job | null = null;
  private progress = { uploadedBytes: 0, newBytes: 0 };
  private listeners = new Set<(e: BackupEvent) => void>();
  private running: Promise<void> | null = null;
  private publisher: RunPublisher;
  private st: BackupStatus;
  private bestValue: number | null = null;
  private readonly runDir: string;
  private readonly pinRoot: string;
  private starting: Promise<void>;
  private sessions: SessionFile | null = null;
  private closed = false;
  private abandoned = false;

  constructor(private o: BackupOptions) {
    this.runDir = path.resolve(o.runDir);
    const run = o.runName ?? path.basename(this.runDir);
    this.pinRoot = path.join(this.runDir, '.backup');
    if (o.store instanceof GoogleDriveStore) {
      this.sessions = new SessionFile(path.join(this.pinRoot, 'upload-sessions.json'));
      o.store.useSessions(this.sessions);
    }
    this.publisher = new RunPublisher(o.store, run, o.keep ?? DEFAULT_KEEP, o.concurrency ?? 4);
    this.st = initialStatus(o);
    this.starting = (o.catchUp ?? true) ? this.catchUp() : Promise.resolve();
    this.running = this.starting.then(() => this.pump());
  }

  onEvent(listener: (e: BackupEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: BackupEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener's bug must not stop backups */ }
    }
  }

  enqueue(info: DurableInfo): void {
    if (this.closed) throw new Error('backup.enqueue() after close()');
    const name = info.name ?? path.basename(info.dir);
    // already uploading, queued (the start-up reconcile may have found it first) or on the store
    const same = this.queue.find((j) => j.name === name);
    if (same) same.mustKeep ||= this.isKeeper(info);
    if (same || this.current?.name === name || this.publisher.has(name)) return;
    const job: Job = { dir: path.resolve(info.dir), name, kind: info.kind ?? 'last', globalStep: info.globalStep ?? 0, bytes: 0, mustKeep: this.isKeeper(info), attempt: 0 };
    void dirBytes(job.dir).then((b) => { job.bytes = b; });
    // A newer checkpoint replaces waiting older ones, unless those must be kept.
    for (const old of this.queue.filter((j) => !j.mustKeep)) this.emit({ type: 'skipped', name: old.name, globalStep: old.globalStep, reason: `superseded by ${name} before upload` });
    this.queue = this.queue.filter((j) => j.mustKeep);
    this.queue.push(job);
    this.emit({ type: 'queued', name, globalStep: job.globalStep, pending: this.queue.length });
    if (!this.running) this.running = this.pump();
  }

  private isKeeper(info: DurableInfo): boolean {
    if (info.kind === 'permanent') return true;
    const b = this.o.keep?.best;
    const v = b ? info.metrics?.[b.monitor] : undefined;
    if (!b || typeof v !== 'number' || !Number.isFinite(v)) return false;
    if (!isImprovement(v, this.bestValue, b)) return false;
    this.bestValue = v;
    return true;
  }

  status(): BackupStatus {
    const left = this.current ? Math.max(0, this.progress.newBytes - this.progress.uploadedBytes) : 0;
    return {
      ...this.st,
      pending: this.queue.length,
      pendingBytes: left + this.queue.reduce((a, j) => a + j.bytes, 0),
      uploading: this.current ? { name: this.current.name, globalStep: this.current.globalStep, ...this.progress } : null,
      stored: this.publisher.names(),
    };
  }

  async flush(): Promise<BackupStatus> {
    await this.starting;
    while (this.running) await this.running;
    await this.sessions?.flush();
    return this.status();
  }

  close(): Promise<BackupStatus> {
    this.closed = true;
    return this.flush();
  }

  async abandon(): Promise<BackupStatus> {
    this.closed = true;
    this.queue = [];
    this.abandoned = true; // an upload in flight finishes on its own; none starts after it
    return this.status();
  }

  /** Nothing queued, uploading or starting. */
  get idle(): boolean {
    return !this.running && !this.current && this.queue.length === 0;
  }

  /**
   * Reconcile the store with the run's kept checkpoints (newest, best, permanent): queue, ahead
   * of anything enqueued meanwhile, each one the store's index lacks. The newest is skipped when
   * the store already has a newer one or a newer one is queued.
   */
  private async catchUp(): Promise<void> {
    try {
      await this.publisher.init();
      const local = await localCheckpoints(this.runDir);
      const latest = this.publisher.latest;
      const best = keptCheckpoints(local, this.o.keep).find((c) => c.why === 'best');
      const v = best && this.o.keep?.best ? best.metrics[this.o.keep.best.monitor] : undefined;
      if (typeof v === 'number' && Number.isFinite(v)) this.bestValue = v;
      const jobs: Job[] = [];
      for (const c of missingOnStore(local, this.o.keep, this.publisher.names())) {
        if (this.queue.some((j) => j.name === c.name)) continue;
        if (c.why === 'newest' && ((latest && latest.globalStep > c.globalStep) || this.queue.some((j) => j.globalStep >= c.globalStep))) continue;
        jobs.push({ dir: c.dir, name: c.name, kind: c.kind, globalStep: c.globalStep, bytes: 0, mustKeep: c.why !== 'newest', attempt: 0 });
      }
      for (const j of jobs) void dirBytes(j.dir).then((b) => { j.bytes = b; });
      this.queue.unshift(...jobs);
    } catch (e) {
      this.fail({ dir: '', name: '(startup)', kind: '', globalStep: 0, bytes: 0, mustKeep: false, attempt: 1 }, e, false);
    }
  }

  private async pump(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job && !this.abandoned; job = this.queue.shift()) {
        this.current = job;
        this.progress = { uploadedBytes: 0, newBytes: 0 };
        try {
          await this.backupOne(job);
        } catch (e) {
          const step = job.globalStep;
          const newer = this.queue.some((j) => j.globalStep >= step);
          const willRetry = job.attempt < (this.o.maxAttempts ?? 5) && (!newer || job.mustKeep);
          this.fail(job, e, willRetry);
          if (willRetry && !this.abandoned) {
            this.queue.unshift(job);
            await new Promise((r) => setTimeout(r, this.o.retryDelayMs ?? 5000));
          }
        } finally {
          this.current = null;
        }
      }
    } finally {
      this.running = null;
    }
  }

  private fail(job: Job, e: unknown, willRetry: boolean): void {
    const error = e instanceof Error ? e.message : String(e);
    this.st.lastError = `${job.name}: ${error}`;
    this.st.failures++;
    const ev: BackupEvent = { type: 'error', name: job.name, globalStep: job.globalStep, error, attempt: job.attempt, willRetry };
    if (this.listeners.size === 0) console.error(`drivetrain: ${formatBackupEvent(ev)}`);
    this.emit(ev);
  }

  private async backupOne(job: Job): Promise<void> {
    job.attempt++;
    const t0 = Date.now();
    // Pin the files with hard links so local retention can delete the checkpoint meanwhile.
    const pin = await this.pin(job);
    if (!pin) {
      this.emit({ type: 'skipped', name: job.name, globalStep: job.globalStep, reason: 'deleted locally before it could be uploaded' });
      return;
    }
    try {
      const { manifest, files } = await planCheckpoint(pin, this.o.chunkBytes ?? DEFAULT_CHUNK_BYTES);
      job.globalStep = manifest.globalStep;
      const rel = path.relative(this.runDir, job.dir).split(path.sep).join('/');
      const r = await this.publisher.publish({
        name: job.name, type: 'checkpoint', relDir: rel.startsWith('..') ? `${CHECKPOINTS_DIR}/${job.name}` : rel, kind: manifest.kind,
        epoch: manifest.epoch, stepInEpoch: manifest.stepInEpoch, globalStep: manifest.globalStep, metrics: manifest.metrics, created: manifest.created,
      }, files, (p) => {
        this.progress = p;
        this.emit({ type: 'progress', name: job.name, globalStep: job.globalStep, ...p });
      });
      const lg = await this.publisher.publishLog(path.join(this.runDir, LOG_FILE)); // the history checkpoints no longer carry
      const newBytes = r.newBytes + lg.newBytes, reusedBytes = r.reusedBytes + lg.reusedBytes;
      const at = new Date().toISOString();
      this.st.lastBackedUp = { name: job.name, globalStep: manifest.globalStep, at, newBytes, reusedBytes };
      this.st.lastError = null;
      this.emit({ type: 'done', name: job.name, globalStep: manifest.globalStep, newBytes, reusedBytes, seconds: (Date.now() - t0) / 1000, deleted: r.deleted });
    } finally {
      if (pin !== job.dir) await fsp.rm(pin, { recursive: true, force: true });
    }
  }

  /** Hard-link the checkpoint's files into .backup/pin-<name>; null when the checkpoint is gone. */
  private async pin(job: Job): Promise<string | null> {
    let names: string[];
    try {
      names = await fsp.readdir(job.dir);
    } catch {
      return null;
    }
    if (!names.includes(MANIFEST_FILE)) return null;
    const dir = path.join(this.pinRoot, `pin-${job.name}`);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.mkdir(dir, { recursive: true });
    try {
      for (const n of names) await fsp.link(path.join(job.dir, n), path.join(dir, n));
      return dir;
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true });
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return job.dir; // no hard links here (other filesystem): read in place
    }
  }
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) n += (await fsp.stat(path.join(dir, name)).catch(() => ({ size: 0 }))).size;
  return n;
}
