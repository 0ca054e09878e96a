// The main-thread face of a backup that runs on a worker thread (backup-worker.ts). A training
// step is one long synchronous native call, so I/O on the main event loop advances only once per
// step; on its own thread the backup's uploads keep going while a step computes. Messages are
// plain JSON: durable events in, backup events + status out. If the thread dies, that is a loud
// backup error and the backup goes on on the main thread (never stops training).
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { StoreSpec } from '../storage/store.js';
import { startModuleWorker } from '../worker/spawn.js';
import { type Backup, type BackupEvent, type BackupOptions, type BackupStatus, type DurableInfo, formatBackupEvent } from './events.js';

export const BACKUP_WORKER = 'src/backup/backup-worker.ts';

export interface WorkerInit { spec: StoreSpec; options: Omit<BackupOptions, 'store' | 'thread'> }
export type ToWorker = { type: 'enqueue'; info: DurableInfo } | { type: 'flush'; id: number };
export type FromWorker =
  | { type: 'event'; event: BackupEvent; status: BackupStatus }
  | { type: 'flushed'; id: number; status: BackupStatus }
  /** the worker had nothing to do after handling `seen` messages */
  | { type: 'idle'; seen: number; status: BackupStatus };

export class ThreadedBackup implements Backup {
  private worker: Worker | null = null;
  private st: BackupStatus;
  private listeners = new Set<(e: BackupEvent) => void>();
  private sent = 0;
  private idleSeen = -1;
  private flushes = new Map<number, (s: BackupStatus) => void>();
  private nextFlush = 0;
  /** enqueued here and not yet done, skipped or given up by the thread (handed to the fallback if it dies) */
  private unsettled: DurableInfo[] = [];
  private fallback: Backup | null = null;
  private closed = false;

  constructor(init: WorkerInit, initial: BackupStatus, private makeFallback: () => Backup) {
    this.st = initial;
    try {
      const w = startModuleWorker(BACKUP_WORKER, { workerData: init });
      w.on('message', (m: FromWorker) => this.receive(m));
      w.on('error', (e) => this.die(`crashed: ${e.message}`));
      w.on('exit', (code) => { if (!this.closed) this.die(`exited (code ${code})`); });
      this.worker = w; // ref'd until it reports idle (start-up catch-up may be uploading)
    } catch (e) {
      this.die(`could not start: ${(e as Error).message}`); // no listeners yet: printed
    }
  }

  onEvent(listener: (e: BackupEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueue(info: DurableInfo): void {
    if (this.closed) throw new Error('backup.enqueue() after close()');
    // Only the plain fields: the manager's event carries more than can cross threads.
    const plain: DurableInfo = { dir: info.dir, name: info.name, kind: info.kind, globalStep: info.globalStep, metrics: info.metrics ? { ...info.metrics } : undefined };
    if (this.fallback) return this.fallback.enqueue(plain);
    this.unsettled.push(plain);
    this.post({ type: 'enqueue', info: plain });
  }

  status(): BackupStatus {
    if (!this.fallback) return this.st;
    const f = this.fallback.status();
    return { ...f, lastBackedUp: f.lastBackedUp ?? this.st.lastBackedUp, lastError: f.lastError ?? (f.lastBackedUp ? null : this.st.lastError), failures: this.st.failures + f.failures };
  }

  flush(): Promise<BackupStatus> {
    if (this.fallback) return this.fallback.flush().then(() => this.status());
    if (!this.worker) return Promise.resolve(this.status());
    const id = this.nextFlush++;
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      this.post({ type: 'flush', id });
    });
  }

  async close(): Promise<BackupStatus> {
    const st = await this.flush();
    this.closed = true;
    await this.fallback?.close();
    const w = this.worker;
    this.worker = null; // no more unref() from late messages
    w?.ref(); // an unref'd thread would let the process exit before terminate() resolves
    await w?.terminate();
    return this.fallback ? this.status() : st;
  }

  private post(m: ToWorker): void {
    this.sent++;
    this.worker!.ref(); // work pending: keep the process alive until the thread reports idle
    this.worker!.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (this.fallback) return;
    this.st = m.status;
    if (m.type === 'event') {
      const e = m.event;
      if (e.type === 'done' || e.type === 'skipped' || (e.type === 'error' && !e.willRetry)) {
        const i = this.unsettled.findIndex((u) => (u.name ?? path.basename(u.dir)) === e.name);
        if (i >= 0) this.unsettled.splice(i, 1);
      }
      this.emit(e);
    } else if (m.type === 'flushed') {
      this.flushes.get(m.id)?.(m.status);
      this.flushes.delete(m.id);
    } else {
      this.idleSeen = m.seen;
    }
    if (this.worker && this.idleSeen === this.sent && this.flushes.size === 0) this.worker.unref();
  }

  private emit(e: BackupEvent): void {
    if (e.type === 'error' && this.listeners.size === 0) console.error(`drivetrain: ${formatBackupEvent(e)}`);
    for (const l of this.listeners) {
      try { l(e); } catch { /* a listener's bug must not stop backups */ }
    }
  }

  /** The thread is gone: say so loudly, then back up on the main thread from here on. */
  private die(why: string): void {
    if (this.fallback || this.closed) return;
    void this.worker?.terminate();
    this.worker = null;
    const up = this.st.uploading;
    const error = `the backup thread ${why}; backing up on the main thread from now on`;
    this.st = { ...this.st, uploading: null, lastError: `(backup thread): ${error}`, failures: this.st.failures + 1 };
    this.emit({ type: 'error', name: up?.name ?? '(backup thread)', globalStep: up?.globalStep ?? this.st.lastBackedUp?.globalStep ?? 0, error, attempt: 1, willRetry: true });
    const fb = this.makeFallback();
    this.fallback = fb;
    fb.onEvent((e) => this.emit(e));
    for (const info of this.unsettled.splice(0)) fb.enqueue(info);
    for (const resolve of this.flushes.values()) void fb.flush().then(() => resolve(this.status()));
    this.flushes.clear();
  }
}
