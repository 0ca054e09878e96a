// The main-thread face of a backup that runs on a worker thread (backup-worker.ts). A training
// step is one long synchronous native call, so I/O on the main event loop advances only once per
// step; on its own thread the backup's uploads keep going while a step computes. Messages are
// plain JSON: durable events in, backup events + status out. If the thread dies, that is a loud
// backup error and the backup goes on on the main thread (never stops training).
import * as path from 'node:path';
import type { StoreSpec } from '../storage/store.js';
import { ThreadClient } from '../worker/client.js';
import { type Backup, type BackupEvent, type BackupOptions, type BackupStatus, type DurableInfo, formatBackupEvent } from './events.js';

export const BACKUP_WORKER = 'src/backup/backup-worker.ts';

export interface WorkerInit { spec: StoreSpec; options: Omit<BackupOptions, 'store' | 'thread'> }
/** Each request is answered with the status once the thread's backup has nothing left to do. */
export type ToWorker = { type: 'start' } | { type: 'enqueue'; info: DurableInfo } | { type: 'flush' };
export type FromWorker = { type: 'event'; event: BackupEvent; status: BackupStatus };

export class ThreadedBackup implements Backup {
  private readonly thread: ThreadClient<ToWorker, BackupStatus, FromWorker>;
  private st: BackupStatus;
  private listeners = new Set<(e: BackupEvent) => void>();
  /** enqueued here and not yet done, skipped or given up by the thread (handed to the fallback if it dies) */
  private unsettled: DurableInfo[] = [];
  private fallback: Backup | null = null;
  private closed = false;

  constructor(init: WorkerInit, initial: BackupStatus, private makeFallback: () => Backup) {
    this.st = initial;
    this.thread = new ThreadClient({
      entry: { module: BACKUP_WORKER }, name: 'backup thread', workerData: init,
      onNotice: (m) => this.receive(m),
      onLost: (e) => this.die(e.message), // no listeners yet when it cannot start: printed
    });
    this.ask({ type: 'start' }); // start-up catch-up; the thread is ref'd until it is done
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
    this.ask({ type: 'enqueue', info: plain });
  }

  status(): BackupStatus {
    if (!this.fallback) return this.st;
    const f = this.fallback.status();
    return { ...f, lastBackedUp: f.lastBackedUp ?? this.st.lastBackedUp, lastError: f.lastError ?? (f.lastBackedUp ? null : this.st.lastError), failures: this.st.failures + f.failures };
  }

  flush(): Promise<BackupStatus> {
    if (this.fallback) return this.fallback.flush().then(() => this.status());
    return this.ask({ type: 'flush' });
  }

  async close(): Promise<BackupStatus> {
    const st = await this.flush();
    this.closed = true;
    await this.fallback?.close();
    await this.thread.close();
    return this.fallback ? this.status() : st;
  }

  async abandon(): Promise<BackupStatus> {
    this.closed = true;
    if (this.fallback) await this.fallback.abandon();
    await this.thread.close(); // terminates the thread, uploads in flight included
    return this.status();
  }

  /** A request; when the thread dies meanwhile, the answer comes from the main-thread fallback. */
  private ask(m: ToWorker): Promise<BackupStatus> {
    return this.thread.request(m).then(
      (st) => {
        if (!this.fallback) this.st = st;
        return this.status();
      },
      () => (this.fallback ? this.fallback.flush().then(() => this.status()) : this.status()),
    );
  }

  private receive(m: FromWorker): void {
    if (this.fallback) return;
    this.st = m.status;
    const e = m.event;
    if (e.type === 'done' || e.type === 'skipped' || (e.type === 'error' && !e.willRetry)) {
      const i = this.unsettled.findIndex((u) => (u.name ?? path.basename(u.dir)) === e.name);
      if (i >= 0) this.unsettled.splice(i, 1);
    }
    this.emit(e);
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
    void this.thread.close();
    const up = this.st.uploading;
    const error = `the ${why}; backing up on the main thread from now on`;
    this.st = { ...this.st, uploading: null, lastError: `(backup thread): ${error}`, failures: this.st.failures + 1 };
    this.emit({ type: 'error', name: up?.name ?? '(backup thread)', globalStep: up?.globalStep ?? this.st.lastBackedUp?.globalStep ?? 0, error, attempt: 1, willRetry: true });
    const fb = this.makeFallback();
    this.fallback = fb;
    fb.onEvent((e) => this.emit(e));
    for (const info of this.unsettled.splice(0)) fb.enqueue(info);
  }
}
