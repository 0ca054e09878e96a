// Connects a run's checkpoint manager to src/backup: the target is checked before the first step,
// every durable checkpoint is queued for background upload, backup events become progress events
// (`✓ Backed up step …`), and the end of the run waits a bounded time for the last uploads, then
// says exactly which checkpoints are not backed up and the command that finishes the job.
import type { CheckpointManager } from '../checkpoint/manager.js';
import { formatBackupEvent, startBackup, type Backup, type BackupStatus } from '../backup/backup.js';
import { localCheckpoints, missingOnStore, type DueCheckpoint } from '../backup/reconcile.js';
import { checkBackupTarget } from '../backup/target-check.js';
import { checkQuota, storeFromTarget } from '../storage/mount.js';
import type { Store } from '../storage/store.js';
import type { KeepPolicy } from '../backup/publish.js';
import type { Emitter } from './events.js';
import * as path from 'node:path';

/** Default bound of the final backup flush (BackupOption.flushTimeoutS). */
export const DEFAULT_FLUSH_TIMEOUT_S = 90;

/**
 * `{ to: 'folder' | 'drive:folder' }` (as `--gdrive-backup`), or an opened Store. `thread`: see
 * BackupOptions.thread (default: on a worker thread when the store allows it). `flushTimeoutS`:
 * how long the end of the run waits for uploads still going (default 90 s). `checkTimeoutS`: the
 * longest wait of the write check before the first step (default 30 s).
 */
export type BackupOption = ({ to: string } | { store: Store }) & { runName?: string; thread?: boolean; flushTimeoutS?: number; checkTimeoutS?: number };

/** How a run's backups ended. */
export interface BackupOutcome {
  ok: boolean;
  store: string;
  /** kept local checkpoints (newest, best, permanent) the store does not have */
  missing: DueCheckpoint[];
  /** the final flush hit flushTimeoutS */
  timedOut: boolean;
  lastError: string | null;
  /** the command that backs up what is missing */
  command: string;
  /** the lines to print (empty when ok) */
  message: string;
}

export interface RunBackup {
  backup: Backup;
  /** Wait until everything queued is uploaded (or given up); never throws. */
  flush(): Promise<void>;
  /** Wait at most flushTimeoutS for the uploads, stop, and say what is not backed up; never throws. */
  finish(): Promise<BackupOutcome>;
  /** finish() unless done, detach from the manager and end the backup thread. */
  stop(): Promise<void>;
}

/** A backup started before its run's checkpoint manager exists (the target checked, the thread starting). */
export interface PreparedBackup {
  /** Start feeding it the manager's durable checkpoints; checks the store's free space for `expectBytes`. */
  attach(manager: CheckpointManager, expectBytes?: number): Promise<RunBackup>;
  /** The run did not start: end the backup. */
  discard(): Promise<void>;
}

/**
 * Open the store, check it can be written (BackupTargetError otherwise), and start the backup of
 * `runDir` (thread start-up and the reconcile of the store with the kept local checkpoints begin
 * now, beside the data loading and engine set-up, so the first checkpoint is not kept waiting).
 */
export async function prepareRunBackup(opt: BackupOption, runDir: string, keep: KeepPolicy, events: Emitter): Promise<PreparedBackup> {
  const target = 'store' in opt ? opt.store.description : opt.to;
  const store = 'store' in opt ? opt.store : await storeFromTarget(opt.to);
  const runName = opt.runName ?? path.basename(path.resolve(runDir));
  await checkBackupTarget(store, runName, { target, timeoutMs: (opt.checkTimeoutS ?? 30) * 1000 });
  const backup = startBackup({ store, runDir, runName: opt.runName, keep, thread: opt.thread });
  const offEvents = backup.onEvent((e) => {
    const line = formatBackupEvent(e);
    if (!line) return;
    events.emit({ type: 'backup', ok: e.type !== 'error', message: line.replace(/^[✓✗…]\s*/, ''), line, globalStep: e.globalStep });
  });
  return {
    attach: async (manager, expectBytes) => {
      if (expectBytes) await checkQuota(store, expectBytes, (m) => events.emit({ type: 'log', message: m }));
      return linkToManager(backup, manager, events, offEvents, { target, runName, flushTimeoutS: opt.flushTimeoutS });
    },
    discard: async () => {
      await backup.abandon();
      offEvents();
    },
  };
}

/** prepareRunBackup + attach, for a manager already open. */
export async function startRunBackup(opt: BackupOption, manager: CheckpointManager, events: Emitter, expectBytes?: number): Promise<RunBackup> {
  return (await prepareRunBackup(opt, manager.runDir, manager.options.keep, events)).attach(manager, expectBytes);
}

function linkToManager(backup: Backup, manager: CheckpointManager, events: Emitter, offEvents: () => void, o: { target: string; runName: string; flushTimeoutS?: number }): RunBackup {
  const offDurable = manager.onDurable((d) => backup.enqueue(d));
  let finished: BackupOutcome | null = null;
  const finish = async (): Promise<BackupOutcome> => {
    if (finished) return finished;
    offDurable();
    const limit = (o.flushTimeoutS ?? DEFAULT_FLUSH_TIMEOUT_S) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((r) => { timer = setTimeout(() => r(null), limit); });
    let st = await Promise.race([backup.flush(), late]);
    clearTimeout(timer);
    const timedOut = st === null;
    if (st === null) st = await backup.abandon();
    finished = await outcome(st, manager, { target: o.target, runName: o.runName, timedOut, limitS: limit / 1000 });
    if (!finished.ok) events.emit({ type: 'backup', ok: false, message: finished.message, line: finished.message });
    return finished;
  };
  return {
    backup,
    flush: async () => { await backup.flush(); },
    finish,
    stop: async () => {
      offDurable();
      const f = finished ?? await finish(); // bounded, also when training failed
      if (f.timedOut) await backup.abandon();
      else await backup.close(); // flushes, then ends the backup thread
      offEvents();
    },
  };
}

/** Compare the run's kept checkpoints with what the store holds; the summary and the fix. */
async function outcome(st: BackupStatus, manager: CheckpointManager, o: { target: string; runName: string; timedOut: boolean; limitS: number }): Promise<BackupOutcome> {
  const local = await localCheckpoints(manager.runDir);
  const missing = missingOnStore(local, manager.options.keep, st.stored ?? []);
  const name = o.runName !== path.basename(manager.runDir) ? ` --name ${o.runName}` : '';
  const command = `drivetrain backup --run ${manager.runDir} --to ${o.target}${name}`;
  const ok = missing.length === 0; // what matters is on the store (an intermediate one cut off is not)
  if (ok) return { ok, store: st.store, missing, timedOut: o.timedOut, lastError: st.lastError, command, message: '' };
  const why = o.timedOut ? `the last uploads did not finish within ${o.limitS} s${st.lastError ? ` (last error: ${st.lastError})` : ''}` : `backups failed${st.lastError ? ` (last error: ${st.lastError})` : ''}`;
  const lines = [
    `✗ BACKUP INCOMPLETE: ${why}. Not backed up to ${o.target}:`,
    ...missing.map((c) => `    ${c.name} (${c.why}, step ${c.globalStep})`),
    `  The local checkpoints are intact. To finish the backup, run: ${command}`,
  ];
  return { ok, store: st.store, missing, timedOut: o.timedOut, lastError: st.lastError, command, message: lines.join('\n') };
}
